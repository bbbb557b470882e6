/**
 * The model runner of a `RunPool` (runPool.ts), in its own thread: loads each model once from the
 * artifact bytes the node already checked, runs `runQuantized` on the inputs it is sent and posts
 * the outputs back.
 */
import { parentPort } from 'node:worker_threads'
import { type LoadedModel, loadModel, runQuantized } from '@verity/runtime'

type RunMessage = { id: number; key: string; artifact?: Uint8Array; inputs: Int16Array[] }
type RunAnswer = { id: number; outputs?: Int16Array[]; computeMs?: number; error?: string }

const models = new Map<string, LoadedModel>()
// The runs of one message are answered together, in one message.
parentPort!.on('message', (runs: RunMessage[]) => {
  const answers = runs.map(answer)
  parentPort!.postMessage(
    answers,
    answers.flatMap((a) => a.outputs?.map((o) => o.buffer as ArrayBuffer) ?? []),
  )
})

function answer(m: RunMessage): RunAnswer {
  try {
    let model = models.get(m.key)
    if (!model) {
      if (!m.artifact) throw new Error(`model ${m.key} was never sent to this worker`)
      model = loadModel(m.artifact)
      models.set(m.key, model)
    }
    const started = performance.now()
    // Copies: the runtime's arrays are never handed over, only these.
    const outputs = runQuantized(model, m.inputs).outputs.map((o) => Int16Array.from(o))
    return { id: m.id, outputs, computeMs: performance.now() - started }
  } catch (error) {
    return { id: m.id, error: error instanceof Error ? error.message : String(error) }
  }
}
