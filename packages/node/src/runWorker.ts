/**
 * The request worker of a `RunPool` (runPool.ts), in its own thread: loads each model once from the
 * artifact bytes the node already checked and answers the requests it is sent with
 * `answerRequest` — signature, inputs, run, receipt, JSON — posting the answers of one message back
 * in one message. It loads only the light entries of the protocol (no viem, no zod).
 */
import { parentPort, workerData } from 'node:worker_threads'
import { type LoadedModel, loadModel } from '@verity/runtime'
import { type Answer, type AnswerContext, type AnswerJob, answerRequest } from './infer/answerRequest.js'
import { type ThreadError, toThreadError } from './threadError.js'

export type RunWorkerData = Omit<AnswerContext, 'model' | 'executor'>
export type AnswerMessage = { id: number; key: string; artifact?: Uint8Array; job: AnswerJob }
/** `unloaded`: the worker does not hold the request's model (its load failed, or it was never sent). */
export type AnswerReply = { id: number; answer?: Answer; error?: ThreadError; unloaded?: true }

const setup = workerData as RunWorkerData
const models = new Map<string, LoadedModel>()

parentPort?.on('message', (messages: AnswerMessage[]) => {
  const replies = messages.map(reply)
  try {
    parentPort!.postMessage(replies)
  } catch {
    // Something in one answer or error could not be cloned: the others still go, that one fails alone.
    for (const r of replies) {
      try {
        parentPort!.postMessage([r])
      } catch (error) {
        parentPort!.postMessage([{ id: r.id, error: toThreadError(error) }])
      }
    }
  }
})

function reply(m: AnswerMessage): AnswerReply {
  let model = models.get(m.key)
  if (!model) {
    try {
      if (!m.artifact) throw new Error(`model ${m.key} was never sent to this worker`)
      model = loadModel(m.artifact)
      models.set(m.key, model)
    } catch (error) {
      return { id: m.id, error: toThreadError(error), unloaded: true }
    }
  }
  try {
    return { id: m.id, answer: answerRequest(m.job, { ...setup, model }) }
  } catch (error) {
    return { id: m.id, error: toThreadError(error) }
  }
}
