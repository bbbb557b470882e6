import { once } from 'node:events'
import type { Worker } from 'node:worker_threads'
import { startWorker } from './workerThread.js'

/** The WAL length (pages of 4 KB: 64 MB) at which a writing connection checkpoints itself when a checkpointer thread does it otherwise. */
export const WAL_SAFETY_NET_PAGES = 16384

export type CheckpointerOptions = {
  /** How often the thread checkpoints (default 1,000 ms: every 100 ms cost more CPU per receipt in the load bench). */
  intervalMs?: number
  /** The least time between two starts of the thread, so one that dies at once does not spin (default 1,000 ms). */
  restartDelayMs?: number
  log?(line: string): void
}

/**
 * What the checkpointer did since it was last asked: checkpoints run, those that found another
 * checkpoint running, ms they took; and after the last, the WAL's frames and how many of them are
 * copied into the database.
 */
export type CheckpointStats = { runs: number; busy: number; failures: number; ms: number; log: number; checkpointed: number }

export type Checkpointer = {
  stats(): Promise<CheckpointStats>
  close(): Promise<void>
  /** Threads started to replace one that exited, since it was created. */
  restarts(): number
  /** The live thread (terminating it is what a crash looks like). */
  thread(): Worker
}

/**
 * Copies a database's WAL into its file from a thread of its own (`checkpointWorker.ts`), so the
 * connections that write — whose own automatic checkpoint is then a safety net far above the WAL's
 * usual size (`ReceiptStore`'s `autoCheckpointPages`) — never run one inside a commit: a checkpoint
 * there held the event loop for its page copies and its two fsyncs (up to tens of ms,
 * docs/benchmarks.md, "Sixth pass"). A thread that exits is replaced; meanwhile the safety net keeps
 * the WAL bounded.
 *
 * @example
 * const checkpointer = createCheckpointer(dbPath)
 * await checkpointer.close()
 */
export function createCheckpointer(dbPath: string, options: CheckpointerOptions = {}): Checkpointer {
  const intervalMs = options.intervalMs ?? 1000
  const restartDelayMs = options.restartDelayMs ?? 1000
  let closed = false
  let restarts = 0
  let worker: Worker
  /** Settles when the live thread exits. */
  let exited: Promise<unknown>
  let startedAt = 0
  const start = () => {
    startedAt = performance.now()
    const w = startWorker('checkpointWorker', { workerData: { dbPath, intervalMs } })
    worker = w
    exited = once(w, 'exit').catch(() => {})
    w.unref()
    w.on('error', (error) => options.log?.(`checkpointer failed: ${error.message}`))
    w.on('exit', (code) => {
      if (closed || worker !== w) return
      const wait = Math.max(0, restartDelayMs - (performance.now() - startedAt))
      options.log?.(`checkpointer exited (${code}); restarting it in ${Math.round(wait)} ms`)
      setTimeout(() => {
        if (closed) return
        restarts++
        start()
      }, wait).unref()
    })
  }
  start()
  return {
    async stats() {
      const w = worker
      w.postMessage('stats')
      const answer = await Promise.race([once(w, 'message'), exited])
      return answer ? (answer as [CheckpointStats])[0] : { runs: 0, busy: 0, failures: 0, ms: 0, log: 0, checkpointed: 0 }
    },
    async close() {
      closed = true
      const w = worker
      w.postMessage('close')
      // Its connection closed, or the thread gone (it may have exited before: a restart pending).
      await Promise.race([once(w, 'message'), exited, new Promise((resolve) => setTimeout(resolve, 2000).unref())])
      await w.terminate()
    },
    restarts: () => restarts,
    thread: () => worker,
  }
}
