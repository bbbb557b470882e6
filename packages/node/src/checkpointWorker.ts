/**
 * The WAL checkpointer of a `createCheckpointer` (checkpointer.ts), in its own thread: its own
 * SQLite connection runs a PASSIVE checkpoint every `intervalMs` — copying committed pages from the
 * WAL into the database file and fsyncing both —, so neither the event loop nor the receipt writer
 * ever waits on one.
 */
import { parentPort, workerData } from 'node:worker_threads'
import Database from 'better-sqlite3'

const { dbPath, intervalMs } = workerData as { dbPath: string; intervalMs: number }
const db = new Database(dbPath)
db.pragma('busy_timeout = 5000')
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)')
let runs = 0
let ms = 0
let busy = 0
let last = { log: 0, checkpointed: 0 }
let failures = 0
const timer = setInterval(() => {
  const started = performance.now()
  try {
    // busy = 1: another connection is checkpointing (a writer's safety net); log: frames in the WAL, checkpointed: of them copied.
    const row = checkpoint.get() as { busy: number; log: number; checkpointed: number }
    busy += row.busy
    last = { log: row.log, checkpointed: row.checkpointed }
  } catch {
    // SQLITE_BUSY and the like: the next interval tries again (the writers' safety net bounds the WAL meanwhile).
    failures++
  }
  ms += performance.now() - started
  runs++
}, intervalMs)

parentPort!.on('message', (message: 'stats' | 'close') => {
  if (message === 'stats') {
    parentPort!.postMessage({ runs, busy, failures, ms, ...last })
    runs = 0
    busy = 0
    failures = 0
    ms = 0
  } else {
    clearInterval(timer)
    db.close()
    parentPort!.postMessage('closed')
  }
})
