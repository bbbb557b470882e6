import type { Worker } from 'node:worker_threads'
import type { LoadedModel } from '@verity/runtime'
import type { Answer, AnswerJob } from './infer/answerRequest.js'
import type { AnswerMessage, AnswerReply, RunWorkerData } from './runWorker.js'
import { fromThreadError } from './threadError.js'
import { startWorker } from './workerThread.js'

/**
 * Answers requests off the event loop, in worker threads (each loads a model once, from its checked
 * artifact): `answerRequest` — the signature check, the inputs' hash, the run, the receipt's hash and
 * signature, the JSON — with the node's key.
 */
export type RunPool = {
  /** Answers in the least busy of the pool's first `workers` workers (default: any of them). */
  answer(model: LoadedModel, job: AnswerJob, workers?: number): Promise<Answer>
  /** Workers started to replace one that exited or failed, since the pool was created. */
  restarts(): number
  /**
   * The worker threads started, one that failed included until its replacement starts (diagnostics;
   * terminating one is what a crash looks like to the pool).
   */
  threads(): readonly Worker[]
  close(): Promise<void>
}

export type RunPoolOptions = {
  /** Whom the workers sign for: the node's address, key and EIP-712 domain. */
  signer: RunWorkerData
  /** The least time between two starts of one worker slot, so a worker that dies at once does not spin (default 1,000 ms). */
  restartDelayMs?: number
  log?(line: string): void
}

type Pending = {
  resolve(value: Answer): void
  reject(error: unknown): void
  /** The model's key (its artifact hash). */
  model: string
}
type Slot = {
  /** Undefined until the slot is first used: a worker that no request needs is never started. */
  worker: Worker | undefined
  startedAt: number
  models: Set<string>
  pending: Map<number, Pending>
  failed: unknown
  /** Requests handed in during this turn of the event loop, sent to the worker as one message at its end. */
  outbox: AnswerMessage[]
}

/**
 * Up to `size` worker threads answering requests with `answerRequest` and the honest executor
 * (`runQuantized`, the function every verifier replays); each request goes to the worker with the
 * fewest in flight among the first `workers` the caller allows (`runWorkersFor`: one for a quick
 * model); the first worker starts with the pool, each other one when a request first needs it. The
 * requests handed to a worker in one turn of the event loop go in one message, and it answers them in
 * one: under load a message per request woke the other thread per request, which cost the main thread
 * ~11 % of its time on two busy cores (a V8 profile of the load bench, docs/benchmarks.md). A refusal
 * (a signature that is not the named client's, inputs that are not the signed ones) comes back as the
 * same typed error. A worker that exits or fails fails the requests it held (they answer 500) and is
 * replaced by a new one, which loads its models again from their artifacts.
 *
 * @example
 * const pool = createRunPool(1, { signer: { node, key, domain } })
 * const answer = await pool.answer(model, { request, requestHash, signature, client, claimed, inputs, fee, nowMs })
 */
export function createRunPool(size: number, options: RunPoolOptions): RunPool {
  const restartDelayMs = options.restartDelayMs ?? 1000
  const spawn = () => startWorker('runWorker', { workerData: options.signer })
  let nextId = 0
  let closed = false
  let restarts = 0

  const start = (slot: Slot) => {
    const worker = spawn()
    slot.worker = worker
    slot.startedAt = performance.now()
    slot.models = new Set()
    slot.failed = undefined
    slot.outbox = []
    worker.on('message', (replies: AnswerReply[]) => {
      for (const m of replies) {
        const pending = slot.pending.get(m.id)
        slot.pending.delete(m.id)
        // The worker does not hold the model (its load failed): the next request for it sends it again.
        if (m.unloaded && pending) slot.models.delete(pending.model)
        // A refusal keeps its status and code; anything else is the worker's failure (500).
        if (m.error !== undefined)
          pending?.reject(fromThreadError(m.error, (message) => new Error(`the request failed in its worker: ${message}`)))
        else pending?.resolve(m.answer!)
      }
      if (slot.pending.size === 0) worker.unref()
    })
    let gone = false
    const fail = (error: unknown) => {
      if (slot.worker !== worker || gone) return
      gone = true
      slot.failed = error
      for (const pending of slot.pending.values()) pending.reject(error)
      slot.pending.clear()
      if (closed) return
      // An 'error' is followed by 'exit'; terminate makes sure of it, and the slot gets a new worker.
      void worker.terminate()
      const wait = Math.max(0, restartDelayMs - (performance.now() - slot.startedAt))
      options.log?.(
        `model worker failed (${error instanceof Error ? error.message : String(error)}); restarting it in ${Math.round(wait)} ms`,
      )
      const timer = setTimeout(() => {
        if (closed || slot.worker !== worker) return
        restarts++
        start(slot)
      }, wait)
      timer.unref()
    }
    worker.on('error', fail)
    worker.on('exit', (code) => fail(new Error(`model worker exited (${code})`)))
    worker.unref()
  }

  /**
   * Prefers a live worker; among those, the one with the fewest requests in flight; among equals, one
   * already started (a new thread costs its start and a copy of the model), then the first.
   */
  const leastBusy = (candidates: Slot[]) =>
    candidates.reduce((best, x) => {
      if ((x.failed === undefined) !== (best.failed === undefined)) return x.failed === undefined ? x : best
      if (x.pending.size !== best.pending.size) return x.pending.size < best.pending.size ? x : best
      return x.worker !== undefined && best.worker === undefined ? x : best
    })
  const slots: Slot[] = Array.from({ length: size }, () => ({
    worker: undefined,
    startedAt: 0,
    models: new Set(),
    pending: new Map(),
    failed: undefined,
    outbox: [],
  }))
  // The first starts now, as every model's requests use it: the node's first request does not wait for a thread
  // to start (about half a second in the load bench). The others start when a slow model first spreads to them.
  if (slots[0]) start(slots[0])
  return {
    answer(model, job, workers = size) {
      // Among the first `workers`, the least busy live one (one not started yet has none in flight); should
      // they all have failed and wait for their replacements, the least busy live one of the whole pool.
      let w = leastBusy(slots.slice(0, Math.max(1, Math.min(workers, size))))
      if (w.failed !== undefined) w = leastBusy(slots)
      if (w.worker === undefined && !closed) start(w)
      const id = nextId++
      const key = model.artifactHash
      return new Promise((resolve, reject) => {
        if (closed || w.worker === undefined) return reject(new Error('the run pool is closed'))
        // Between a worker's failure and its replacement the slot runs nothing: the request fails (500) instead of waiting.
        if (w.failed !== undefined) return reject(w.failed)
        const artifact = w.models.has(key) ? undefined : model.artifact
        w.models.add(key)
        w.pending.set(id, { resolve, reject, model: key })
        const worker = w.worker
        // Referenced only while it has requests to answer: an idle pool never keeps the process alive.
        if (w.pending.size === 1) worker.ref()
        w.outbox.push(artifact ? { id, key, artifact, job } : { id, key, job })
        if (w.outbox.length === 1) {
          setImmediate(() => {
            if (w.worker !== worker) return // it failed meanwhile: its requests were rejected
            worker.postMessage(w.outbox)
            w.outbox = []
          })
        }
      })
    },
    restarts: () => restarts,
    threads: () => slots.flatMap((s) => (s.worker ? [s.worker] : [])),
    async close() {
      closed = true
      await Promise.all(slots.map((s) => s.worker?.terminate()))
    },
  }
}
