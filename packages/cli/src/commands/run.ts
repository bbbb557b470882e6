import { identifyModel } from '@verity/contracts'
import type { RunResult } from '@verity/runtime'
import { loadModel, run } from '@verity/runtime'
import { sig } from '../format.js'
import { readBytes, runInputs } from '../samples.js'

export type RunCommandOptions = { model: string; input: string; trace: boolean; json: boolean }

/** `verity run`: run an artifact on one input; print outputs, hashes and (with --trace) the trace root. */
export function runCommand(options: RunCommandOptions): RunResult {
  const model = loadModel(readBytes(options.model, 'model artifact'))
  const result = run(model, runInputs(options.input, model), { trace: options.trace })
  const { modelId } = identifyModel(model)
  if (options.json) {
    console.log(
      JSON.stringify(
        {
          modelId,
          inputHash: result.inputHash,
          outputHash: result.outputHash,
          ...(result.trace ? { traceRoot: result.trace.root, traceLeaves: result.trace.leaves.length } : {}),
          outputs: result.outputs.map((o) => ({
            name: o.name,
            shape: o.shape,
            scale: o.scale,
            raw: Array.from(o.raw),
            values: Array.from(o.values),
          })),
        },
        null,
        2,
      ),
    )
    return result
  }
  console.log(`model id     ${modelId}`)
  console.log(`input hash   ${result.inputHash}`)
  console.log(`output hash  ${result.outputHash}`)
  if (result.trace) console.log(`trace root   ${result.trace.root} (${result.trace.leaves.length} tensors)`)
  for (const o of result.outputs) {
    console.log(`\n${o.name} [${o.shape.join(', ')}] scale ${sig(o.scale, 6)}`)
    const top =
      o.values.length <= 20
        ? [...o.values.keys()]
        : [...o.values.keys()].sort((a, b) => (o.values[b] as number) - (o.values[a] as number)).slice(0, 10)
    if (o.values.length > 20) console.log(`(top 10 of ${o.values.length})`)
    let best = 0
    for (let i = 1; i < o.values.length; i++) if ((o.values[i] as number) > (o.values[best] as number)) best = i
    for (const i of top) {
      console.log(
        `  [${String(i).padStart(3)}] ${sig(o.values[i] as number, 6).padStart(12)}   raw ${String(o.raw[i]).padStart(6)}${i === best ? '   ← argmax' : ''}`,
      )
    }
  }
  return result
}
