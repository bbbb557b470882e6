import type { LoadedModel } from '@verity/runtime'
import type { Hex } from 'viem'

/**
 * A deliberately faulty node, for tests and demos only. On a fraction `rate` of answers:
 * - `flip-output`: one output value is off by one (a wrong final output);
 * - `deep-value`: one value inside an intermediate op is wrong and flows on to the output, which
 *   stays plausible (`deepValueTamper`);
 * - `silent`: a wrong output like `flip-output`, and the node never defends a dispute.
 */
export type Fault = { kind: 'flip-output' | 'deep-value' | 'silent'; rate: number; seed?: number }

export const FAULT_KINDS: readonly Fault['kind'][] = ['flip-output', 'deep-value', 'silent']

/**
 * The `deep-value` fault for one input: value (inputHash mod size) of the output of op
 * `nodes.length − 3` (an intermediate op: for mnist-8 its second MaxPool) is raised by 200. The same
 * input always gets the same fault, so the node can replay the run it answered when disputed.
 */
export function deepValueTamper(model: LoadedModel, inputHash: Hex): (node: number, output: Int16Array) => void {
  const target = Math.max(0, model.nodes.length - 3)
  const seed = Number.parseInt(inputHash.slice(2, 10), 16)
  return (node, output) => {
    if (node !== target) return
    const i = seed % output.length
    output[i] = Math.min(32767, output[i]! + 200)
  }
}
