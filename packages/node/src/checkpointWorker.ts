/**
 * The WAL checkpointer of a `createCheckpointer` (checkpointer.ts), in its own thread: its own
 * SQLite connection runs a PASSIVE checkpoint every `intervalMs` — copying committed pages from the
 * WAL into the database file and fsyncing both —, so neither the event loop nor the receipt writer
 * ever waits on one. With `restartFrames`, it also keeps the WAL short (`restartStep`): once the WAL
 * holds that many frames and the passes have nearly caught up, it asks the main thread to hold its
 * writer, copies the last frames, and lets the writer go on — whose next transaction then starts the
 * WAL again from its beginning.
 */
import { parentPort, workerData } from 'node:worker_threads'
import Database from 'better-sqlite3'
import { type CheckpointPass, restartStep } from './checkpointRules.js'

const { dbPath, intervalMs, restartFrames, tailFrames } = workerData as {
  dbPath: string
  intervalMs: number
  restartFrames: number
  tailFrames: number
}
const policy = { restartFrames, tailFrames }
const db = new Database(dbPath)
db.pragma('busy_timeout = 5000')
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)')
let runs = 0
let ms = 0
let busy = 0
let last = { log: 0, checkpointed: 0 }
let failures = 0
let holds = 0
let holdMs = 0
let restarted = 0
/** Asked the main thread to hold its writer, not yet answered. */
let asked = false

/** One PASSIVE checkpoint; undefined when it failed (SQLITE_BUSY and the like: the next interval tries again). */
function pass(): CheckpointPass | undefined {
  const started = performance.now()
  try {
    // busy = 1: another connection is checkpointing (a writer's safety net); log: frames in the WAL, checkpointed: of them copied.
    const row = checkpoint.get() as { busy: number; log: number; checkpointed: number }
    busy += row.busy
    last = { log: row.log, checkpointed: row.checkpointed }
    return row
  } catch {
    failures++
    return undefined
  } finally {
    ms += performance.now() - started
    runs++
  }
}

const timer = setInterval(() => {
  if (asked) return
  let row = pass()
  let passes = 1
  // Catch-up passes while the WAL is long and its uncopied tail too long to copy while the writer waits.
  while (restartStep(row, policy, passes) === 'catch-up') {
    row = pass()
    passes++
  }
  if (restartStep(row, policy, passes) === 'hold') {
    asked = true
    parentPort!.postMessage({ type: 'hold' })
  }
}, intervalMs)

parentPort!.on('message', (message: 'stats' | 'close' | 'held' | 'refused') => {
  if (message === 'held') {
    // The writer starts no transaction until released: this pass copies every frame, and the writer's
    // next transaction restarts the WAL (unless another of its connection's writes came in between).
    const started = performance.now()
    const row = pass()
    if (row && row.log === row.checkpointed) restarted++
    parentPort!.postMessage({ type: 'release' })
    holds++
    holdMs += performance.now() - started
    asked = false
  } else if (message === 'refused') {
    asked = false
  } else if (message === 'stats') {
    parentPort!.postMessage({ type: 'stats', runs, busy, failures, ms, ...last, holds, holdMs, restarted })
    runs = 0
    busy = 0
    failures = 0
    ms = 0
    holds = 0
    holdMs = 0
    restarted = 0
  } else {
    clearInterval(timer)
    db.close()
    parentPort!.postMessage({ type: 'closed' })
  }
})
