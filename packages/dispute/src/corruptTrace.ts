import { commitTrace, type LoadedModel, runQuantized, type Trace } from '@verity/runtime'

/**
 * Ways a cheating node's run can differ from the honest one (adversarial tests and the devnet):
 * - `propagated`: op `op` computes value `index` wrong (+`delta`) and every later op uses it;
 * - `finalOutput`: only the model's (first) output value `index` is changed;
 * - `traceOnly`: the trace says op `op` computed `index` wrong but later ops read the honest value,
 *   and the output is changed as in `finalOutput` — an inconsistent trace.
 */
export type Corruption =
  | { kind: 'propagated'; op: number; index: number; delta: number }
  | { kind: 'finalOutput'; index: number; delta: number }
  | { kind: 'traceOnly'; op: number; index: number; delta: number }

const wrap16 = (v: number) => ((((v + 32768) % 65536) + 65536) % 65536) - 32768

/** The trace a node with `corruption` would commit to for `inputs`. */
export function corruptTrace(model: LoadedModel, inputs: readonly Int16Array[], corruption: Corruption): Trace {
  if (corruption.kind === 'propagated') {
    return runQuantized(model, inputs, {
      trace: true,
      tamper: (node, output) => {
        if (node === corruption.op)
          output[corruption.index % output.length] = wrap16(output[corruption.index % output.length]! + corruption.delta)
      },
    }).trace!
  }
  const honest = runQuantized(model, inputs, { trace: true }).trace!
  const tensors = new Map(honest.tensors)
  const change = (id: number, index: number, delta: number) => {
    const copy = Int16Array.from(tensors.get(id)!)
    copy[index % copy.length] = wrap16(copy[index % copy.length]! + delta)
    tensors.set(id, copy)
  }
  if (corruption.kind === 'traceOnly') change(model.nodes[corruption.op]!.output, corruption.index, corruption.delta)
  change(model.model.outputs[0]!, corruption.index, corruption.delta)
  return commitTrace(model, tensors)
}
