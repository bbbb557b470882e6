import type { Executor } from '@verity/node'
import { runQuantized, seededRandom } from '@verity/runtime'
import type { Hex } from 'viem'
import { deepValueTamper } from './deepValueTamper.js'
import type { Fault } from './fault.js'

/**
 * An executor that lies on a fraction `fault.rate` of the runs it is given (drawn from a PRNG
 * seeded with `fault.seed`, in the order of the runs): `deep-value` corrupts one intermediate value
 * (`deepValueTamper`), the other kinds add one to the first output value. The rest are honest runs.
 *
 * @example
 * const node = createInferenceNode(options, { executor: corruptingExecutor({ kind: 'flip-output', rate: 0.1 }) })
 */
export function corruptingExecutor(fault: Fault, onLie?: (inputHash: Hex) => void): Executor {
  const random = seededRandom(fault.seed ?? 1)
  return (model, inputs, { inputHash }) => {
    const lie = random() < fault.rate
    if (lie) onLie?.(inputHash)
    if (lie && fault.kind === 'deep-value') return runQuantized(model, inputs, { tamper: deepValueTamper(model, inputHash) }).outputs
    const { outputs } = runQuantized(model, inputs)
    if (lie) outputs[0]![0] = outputs[0]![0]! === 32767 ? 32766 : outputs[0]![0]! + 1
    return outputs
  }
}
