import { checkSpendable } from './infer/priceRequest.js'
import type { Channel, NewInferenceRow, ReceiptStore } from './receiptStore.js'
import { ReceiptWriter, type ReceiptWriterOptions } from './receiptWriter.js'

/** A receipt's row as the request path hands it to storage. */
export type NewInference = NewInferenceRow

/** The storage step's figures since they were last read (for the bench's `--stats`). */
export type WriterStats = { flushMs: number[]; syncMs: number[]; groupSizes: number[] }

/**
 * Where the request path stores its receipts: `insert` resolves once the receipt is durable, and
 * refuses (rejects with the `ApiError`) a replayed request, a fee its client's vouchers do not cover,
 * and a fee beyond `escrow` less the client's fees not yet redeemed — all checked inside the
 * transaction that stores it. Implemented on the event loop (`receiptSinkInThread`) and in a worker
 * thread (`createWriterThread`).
 */
export type ReceiptSink = {
  insert(inference: NewInference, inputBody: string, escrow: bigint): Promise<void>
  /** Resolves once everything handed in so far is durable (or refused). */
  drain(): Promise<void>
  close(): Promise<void>
  stats(): Promise<WriterStats>
  /** Holds the writer (see `ReceiptWriter.hold`), when it runs on this thread. */
  hold?: (() => () => void) | undefined
  /**
   * The writer's own connection, when it runs on this thread: the node's one connection there (its price
   * check, batcher and followers use it too). A connection's page cache survives its own commits and is
   * dropped after another's (bench/receiptStore.bench.ts: the price check's read on the writing
   * connection against one another connection's commit has just made stale).
   */
  readonly store?: ReceiptStore
}

/** The escrow check a stored receipt passes inside its transaction (the client's fees redeemed and not). */
export const admitWithin = (inference: NewInference, escrow: bigint) => (channel: Channel) =>
  checkSpendable(inference.client, escrow, BigInt(inference.fee), channel)

/** Takes the figures a writer kept and empties its lists. */
export function takeStats(writer: ReceiptWriter): WriterStats {
  const stats = { flushMs: [...writer.flushMs], syncMs: [...writer.syncMs], groupSizes: [...writer.groupSizes] }
  for (const list of [writer.flushMs, writer.syncMs, writer.groupSizes]) list.length = 0
  return stats
}

/** A `ReceiptWriter` on this thread's event loop, as a `ReceiptSink`. */
export function receiptSinkInThread(dbPath: string, options: ReceiptWriterOptions = {}): ReceiptSink {
  const writer = new ReceiptWriter(dbPath, options)
  return {
    insert: (inference, inputBody, escrow) => writer.insert(inference, inputBody, admitWithin(inference, escrow)),
    drain: () => writer.drain(),
    async close() {
      await writer.drain()
      writer.close()
    },
    stats: async () => takeStats(writer),
    hold: () => writer.hold(),
    store: writer.store,
  }
}
