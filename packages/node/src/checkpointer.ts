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
  /**
   * Holds the connection's writer — it starts no transaction until the returned function is called —
   * so the thread can copy the WAL's last frames and the writer's next transaction start the WAL
   * again (`restartStep`). Without it the thread only copies, and the WAL restarts when a writer's own
   * checkpoint (its safety net) copies it.
   */
  hold?: (() => () => void) | undefined
  /**
   * Frames in the WAL from which the thread has it restarted (default 4,096: 16 MB); the tail it copies
   * while the writer waits (default 64: against 256, more receipts/s and a lower p99 with 1,000,000
   * stored, docs/benchmarks.md, "Ninth pass").
   */
  restartFrames?: number
  tailFrames?: number
  /** The longest the writer is held should the thread not answer (default 250 ms). */
  maxHoldMs?: number
  log?(line: string): void
}

/**
 * What the checkpointer did since it was last asked: checkpoints run, those that found another
 * checkpoint running, ms they took; after the last, the WAL's frames and how many of them are copied
 * into the database; the writer's holds, ms they lasted (from the thread's side), and those after
 * which the whole WAL was copied (its restart then due).
 */
export type CheckpointStats = {
  runs: number
  busy: number
  failures: number
  ms: number
  log: number
  checkpointed: number
  holds: number
  holdMs: number
  restarted: number
}
const NO_STATS: CheckpointStats = { runs: 0, busy: 0, failures: 0, ms: 0, log: 0, checkpointed: 0, holds: 0, holdMs: 0, restarted: 0 }

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
 * docs/benchmarks.md, "Sixth pass"). SQLite starts a WAL again from its beginning only when a
 * transaction begins with it wholly copied, which a pass under a steady stream of commits never leaves
 * it: given `hold`, the thread arranges that moment (`restartStep`), or the WAL would grow to the safety
 * net, whose checkpoint inside a commit held the event loop for 70–240 ms ("Ninth pass"). A thread that
 * exits is replaced; meanwhile the safety net keeps the WAL bounded.
 *
 * @example
 * const checkpointer = createCheckpointer(dbPath)
 * await checkpointer.close()
 */
export function createCheckpointer(dbPath: string, options: CheckpointerOptions = {}): Checkpointer {
  const intervalMs = options.intervalMs ?? 1000
  const restartDelayMs = options.restartDelayMs ?? 1000
  const maxHoldMs = options.maxHoldMs ?? 250
  const workerData = {
    dbPath,
    intervalMs,
    restartFrames: options.hold ? (options.restartFrames ?? 4096) : 0,
    tailFrames: options.tailFrames ?? 64,
  }
  /** Answers to `stats` and `close`, in the order they were asked. */
  const waiting: ((message: unknown) => void)[] = []
  /** Ends the writer's hold in force, if one is. */
  let release: (() => void) | undefined
  let closed = false
  let restarts = 0
  let worker: Worker
  /** Settles when the live thread exits. */
  let exited: Promise<unknown>
  let startedAt = 0
  const start = () => {
    startedAt = performance.now()
    const w = startWorker('checkpointWorker', { workerData })
    worker = w
    exited = once(w, 'exit').catch(() => {})
    w.unref()
    w.on('message', (message: { type: string }) => {
      if (message.type === 'hold') {
        const end = closed ? undefined : options.hold?.()
        if (!end) return w.postMessage('refused')
        // A thread that dies or stalls while it holds the writer does not hold it for longer than maxHoldMs.
        const timer = setTimeout(() => release?.(), maxHoldMs)
        release = () => {
          clearTimeout(timer)
          release = undefined
          end()
        }
        w.postMessage('held')
      } else if (message.type === 'release') release?.()
      else waiting.shift()?.(message)
    })
    w.on('error', (error) => options.log?.(`checkpointer failed: ${error.message}`))
    w.on('exit', (code) => {
      release?.()
      for (const answer of waiting.splice(0)) answer(undefined)
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
  /** Posts `message` to the live thread; resolves with its answer, or undefined once the thread is gone. */
  const ask = (message: 'stats' | 'close') =>
    new Promise<unknown>((resolve) => {
      const w = worker
      waiting.push(resolve)
      w.postMessage(message)
      void exited.then(() => resolve(undefined))
    })
  start()
  return {
    async stats() {
      const answer = await ask('stats')
      if (!answer) return { ...NO_STATS }
      const { type: _, ...stats } = answer as CheckpointStats & { type: string }
      return stats
    },
    async close() {
      closed = true
      release?.()
      // Its connection closed, or the thread gone (it may have exited before: a restart pending).
      await Promise.race([ask('close'), new Promise((resolve) => setTimeout(resolve, 2000).unref())])
      await worker.terminate()
    },
    restarts: () => restarts,
    thread: () => worker,
  }
}
