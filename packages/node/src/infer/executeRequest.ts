import { type LoadedModel, runQuantized } from '@verity/runtime'
import type { Hex } from 'viem'

/** Runs a model on decoded inputs and returns its outputs; `inputHash` names the inputs. */
export type Executor = (model: LoadedModel, inputs: readonly Int16Array[], context: { inputHash: Hex }) => Int16Array[]

/** The node's executor: the integer runtime, as every verifier replays it. */
export const honestExecutor: Executor = (model, inputs) => runQuantized(model, inputs).outputs

/**
 * Runs the request's inputs through the model with `executor` and times the run.
 *
 * @example
 * const { outputs, computeMs } = executeRequest({ model, inputs, inputHash })
 */
export function executeRequest(p: { model: LoadedModel; inputs: readonly Int16Array[]; inputHash: Hex; executor?: Executor | undefined }): {
  outputs: Int16Array[]
  computeMs: number
} {
  const started = performance.now()
  const outputs = (p.executor ?? honestExecutor)(p.model, p.inputs, { inputHash: p.inputHash })
  return { outputs, computeMs: performance.now() - started }
}
