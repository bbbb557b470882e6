/**
 * The receipt writer of a `createWriterThread` (writerThread.ts), in its own thread: a
 * `ReceiptWriter` (group commit, fsync on libuv's pool) on its own SQLite connection, so the
 * transactions, SQLite's WAL checkpoints and the fsync callbacks never take the event loop that
 * serves requests. Answers are posted once per turn of this thread's loop.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { admitWithin, takeStats } from './receiptSink.js'
import { ReceiptWriter } from './receiptWriter.js'
import { toThreadError } from './threadError.js'
import type { WriterAnswer, WriterMessage } from './writerThread.js'

const { dbPath, autoCheckpointPages, cacheMb } = workerData as { dbPath: string; autoCheckpointPages?: number; cacheMb?: number }
const writer = new ReceiptWriter(dbPath, { autoCheckpointPages, cacheMb })
let outbox: WriterAnswer[] = []
const answer = (a: WriterAnswer) => {
  outbox.push(a)
  if (outbox.length === 1)
    setImmediate(() => {
      parentPort!.postMessage(outbox)
      outbox = []
    })
}

parentPort!.on('message', (messages: WriterMessage[]) => {
  for (const m of messages) {
    if (m.kind === 'insert') {
      writer.insert(m.inference, m.inputBody, admitWithin(m.inference, m.escrow)).then(
        () => answer({ id: m.id }),
        (error: unknown) => answer({ id: m.id, error: toThreadError(error) }),
      )
    } else if (m.kind === 'drain') {
      void writer.drain().then(() => answer({ id: m.id }))
    } else if (m.kind === 'stats') {
      answer({ id: m.id, stats: takeStats(writer) })
    } else {
      void writer.drain().then(() => {
        writer.close()
        answer({ id: m.id })
      })
    }
  }
})
