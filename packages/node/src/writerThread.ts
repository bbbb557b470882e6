import type { Worker } from 'node:worker_threads'
import type { NewInference, ReceiptSink, WriterStats } from './receiptSink.js'
import { fromThreadError, type ThreadError } from './threadError.js'
import { startWorker } from './workerThread.js'

type WriterRequest = { kind: 'insert'; inference: NewInference; inputBody: string; escrow: bigint } | { kind: 'drain' | 'stats' | 'close' }
export type WriterMessage = WriterRequest & { id: number }
/** A refusal crosses threads as a `ThreadError`: an `ApiError` keeps its status, code, message and details. */
export type WriterAnswer = { id: number; error?: ThreadError; stats?: WriterStats }

export type WriterThreadOptions = {
  /** The least time between two starts of the thread, so one that dies at once does not spin (default 1,000 ms). */
  restartDelayMs?: number
  /** Passed to the writer's `ReceiptStore`. */
  autoCheckpointPages?: number | undefined
  /** Its connection's page cache, MB. */
  cacheMb?: number | undefined
  log?(line: string): void
}

type Pending = { resolve(answer: WriterAnswer): void; reject(error: unknown): void }

/**
 * The node's receipt writer (`ReceiptWriter`: group commit, fsync before the answer) in a worker
 * thread of its own, with its own SQLite connection. The event loop that serves requests hands it
 * each receipt with the escrow it was priced against and is told once the receipt is durable or
 * refused (the refusal's `ApiError` rebuilt with its status, code and details); the SQLite
 * transactions, the WAL checkpoints SQLite runs on commit and the fsync callbacks all happen on the
 * writer's thread. The receipts handed in during one turn of the event loop go in one message. A
 * thread that exits fails the receipts it held (their requests answer 500; none was acknowledged)
 * and is replaced.
 *
 * @example
 * const writer = createWriterThread(dbPath)
 * await writer.insert(row, inputBody, escrow) // durable once this resolves
 */
export function createWriterThread(
  dbPath: string,
  options: WriterThreadOptions = {},
): ReceiptSink & { restarts(): number; thread(): Worker } {
  const restartDelayMs = options.restartDelayMs ?? 1000
  const pending = new Map<number, Pending>()
  let outbox: WriterMessage[] = []
  let worker: Worker
  let startedAt = 0
  let failed: unknown
  let closed = false
  let restarts = 0
  let nextId = 0

  const start = () => {
    const w = startWorker('writerWorker', {
      workerData: { dbPath, autoCheckpointPages: options.autoCheckpointPages, cacheMb: options.cacheMb },
    })
    worker = w
    startedAt = performance.now()
    failed = undefined
    outbox = []
    w.on('message', (answers: WriterAnswer[]) => {
      for (const a of answers) {
        const p = pending.get(a.id)
        pending.delete(a.id)
        p?.resolve(a)
      }
      if (pending.size === 0) w.unref()
    })
    let gone = false
    const fail = (error: unknown) => {
      if (worker !== w || gone) return
      gone = true
      failed = error
      for (const p of pending.values()) p.reject(error)
      pending.clear()
      if (closed) return
      void w.terminate()
      const wait = Math.max(0, restartDelayMs - (performance.now() - startedAt))
      options.log?.(
        `receipt writer thread failed (${error instanceof Error ? error.message : String(error)}); restarting it in ${Math.round(wait)} ms`,
      )
      setTimeout(() => {
        if (closed || worker !== w) return
        restarts++
        start()
      }, wait).unref()
    }
    w.on('error', fail)
    w.on('exit', (code) => fail(new Error(`receipt writer thread exited (${code})`)))
    w.unref()
  }
  start()

  const send = (message: WriterRequest): Promise<WriterAnswer> =>
    new Promise((resolve, reject) => {
      // Between a failure and the new thread nothing is stored: the request fails (500) instead of waiting.
      if (failed !== undefined) return reject(failed)
      const id = nextId++
      pending.set(id, { resolve, reject })
      // Referenced only while it holds receipts: an idle writer never keeps the process alive.
      if (pending.size === 1) worker.ref()
      outbox.push({ ...message, id })
      if (outbox.length === 1) {
        const w = worker
        setImmediate(() => {
          if (worker !== w) return // it failed meanwhile: its receipts were refused
          w.postMessage(outbox)
          outbox = []
        })
      }
    })

  return {
    async insert(inference, inputBody, escrow) {
      const { error } = await send({ kind: 'insert', inference, inputBody, escrow })
      if (!error) return
      // A refusal is an ApiError again; anything else is the writer's failure.
      throw error.status !== undefined ? fromThreadError(error) : new Error(`storing the receipt failed: ${error.message}`)
    },
    async drain() {
      if (failed === undefined) await send({ kind: 'drain' })
    },
    async stats() {
      return failed === undefined ? (await send({ kind: 'stats' })).stats! : { flushMs: [], syncMs: [], groupSizes: [] }
    },
    async close() {
      if (failed === undefined) await send({ kind: 'close' })
      closed = true
      await worker.terminate()
    },
    restarts: () => restarts,
    thread: () => worker,
  }
}
