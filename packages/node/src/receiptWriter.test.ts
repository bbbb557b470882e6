import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import type { Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { h, receiptRow } from '../test/receiptRows.js'
import { ApiError } from './errors.js'
import { type Channel, ReceiptStore } from './receiptStore.js'
import { ReceiptWriter } from './receiptWriter.js'

const A = '0x00000000000000000000000000000000000000aa' as Hex
const B = '0x00000000000000000000000000000000000000bb' as Hex
const FEE = 1000n

/** A stored receipt's row: `n` numbers it, `total` is the voucher's channel total. */
const inference = (n: number, client: Hex, total: bigint) => receiptRow(n, client, total, FEE)
const fresh = () => join(mkdtempSync(join(tmpdir(), 'verity-writer-')), 'node.sqlite')

describe('ReceiptWriter: group commit', () => {
  it('commits the receipts handed in during one turn in one transaction, each durable once its promise resolves', async () => {
    const path = fresh()
    const writer = new ReceiptWriter(path)
    const store = writer.store
    const pending = Array.from({ length: 50 }, (_, i) => writer.insert(inference(i, A, 100n * FEE), '[]'))
    await Promise.all(pending)
    expect(writer.groupSizes).toEqual([50])
    // One fsync of the WAL for the group, done by the writer: its connection does not sync on commit.
    expect(writer.syncSizes).toEqual([50])
    expect(store.db.pragma('synchronous', { simple: true })).toBe(1)
    expect(new ReceiptStore(path).db.pragma('synchronous', { simple: true })).toBe(2)
    // Another connection (another process would see the same) reads all 50.
    const other = new Database(path, { readonly: true })
    expect((other.prepare('SELECT COUNT(*) AS n FROM inferences').get() as { n: number }).n).toBe(50)
    other.close()
    expect(store.channel(A)).toEqual({ authorized: 100n * FEE, charged: 50n * FEE, paid: 0n })
    writer.close()
    // Its connection's page cache, as asked (SQLite counts it in KB when negative).
    const cached = new ReceiptWriter(fresh(), { cacheMb: 64 })
    expect(cached.store.db.pragma('cache_size', { simple: true })).toBe(-64 * 1024)
    cached.close()
  })

  it('while every fsync slot is busy, receipts handed in over many turns wait uncommitted and commit as one group when a slot frees', async () => {
    const writer = new ReceiptWriter(fresh(), { maxSyncs: 1 })
    const pending: Promise<void>[] = []
    // One receipt per turn of the event loop: without the wait, 200 transactions (one per turn).
    for (let i = 0; i < 200; i++) {
      pending.push(writer.insert(inference(i, A, 1000n * FEE), '[]'))
      await new Promise((resolve) => setImmediate(resolve))
    }
    await Promise.all(pending)
    expect(writer.groupSizes.reduce((a, b) => a + b, 0)).toBe(200)
    // An fsync takes far longer than a turn: each group holds what queued during the fsync before it.
    expect(writer.groupSizes.length).toBeLessThan(100)
    expect(writer.syncSizes).toEqual(writer.groupSizes)
    expect(writer.store.channel(A).charged).toBe(200n * FEE)
    writer.close()
  })

  it('refuses one receipt of a group alone (a replay, a fee its vouchers do not cover, what admit refuses); the others commit', async () => {
    const writer = new ReceiptWriter(fresh())
    const store = writer.store
    const results = await Promise.allSettled([
      writer.insert(inference(1, A, 2n * FEE), '[]'),
      writer.insert({ ...inference(2, A, 2n * FEE), requestHash: h(1, 2), nonce: '1' }, '[]'), // replays request 1 (its client and nonce)
      writer.insert(inference(3, A, 2n * FEE), '[]'),
      writer.insert(inference(4, A, 2n * FEE), '[]'), // a third fee on a voucher for two
      writer.insert(inference(5, B, 9n * FEE), '[]', () => {
        throw new ApiError(402, 'INSUFFICIENT_ESCROW', 'no escrow')
      }),
      writer.insert(inference(6, B, 9n * FEE), '[]'),
    ])
    expect(results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as ApiError).code))).toEqual([
      'ok',
      'REQUEST_REPLAYED',
      'ok',
      'CHANNEL_TOTAL_TOO_LOW',
      'INSUFFICIENT_ESCROW',
      'ok',
    ])
    expect(writer.groupSizes).toEqual([6])
    expect(store.counts().inferences).toBe(3)
    expect(store.getInference(h(2, 1))).toBeUndefined()
    expect(store.channel(A).charged).toBe(2n * FEE)
    expect(store.channel(B).charged).toBe(FEE)
    writer.close()
  })

  it('hold: starts no transaction until released; what queued meanwhile commits in one group', async () => {
    const path = fresh()
    const writer = new ReceiptWriter(path)
    const release = writer.hold()
    let stored = false
    const pending = Promise.all([1, 2, 3].map((n) => writer.insert(inference(n, A, 10n * FEE), '[]'))).then(() => {
      stored = true
    })
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(stored).toBe(false)
    expect(writer.store.counts().inferences).toBe(0)
    release()
    release() // a second call changes nothing
    await pending
    expect(writer.groupSizes).toEqual([3])
    expect(writer.store.counts().inferences).toBe(3)
    writer.close()
  })

  it('answers one request message signed by two clients once for each: a replay is the same client and nonce', async () => {
    const writer = new ReceiptWriter(fresh())
    const store = writer.store
    // The request's hash names no client: A and B signed the same message, each pays its own fee.
    await writer.insert(inference(7, A, 2n * FEE), '[]')
    await writer.insert({ ...inference(8, B, 2n * FEE), requestHash: h(7, 2), nonce: '7' }, '[]')
    await expect(writer.insert({ ...inference(9, B, 2n * FEE), nonce: '7' }, '[]')).rejects.toMatchObject({ code: 'REQUEST_REPLAYED' })
    expect(store.counts().inferences).toBe(2)
    expect([store.channel(A).charged, store.channel(B).charged]).toEqual([FEE, FEE])
    expect(store.admission(B, '7').replayed).toBe(true)
    expect(store.admission(B, '8').replayed).toBe(false)
    writer.close()
  })

  it('admit sees the receipts committed before it in the same group', async () => {
    const writer = new ReceiptWriter(fresh())
    // Escrow for two fees: the third is refused although all three were checked in one transaction.
    const admit = (channel: Channel) => {
      if (channel.charged - channel.paid + FEE > 2n * FEE) throw new ApiError(402, 'INSUFFICIENT_ESCROW', 'spent')
    }
    const results = await Promise.allSettled([1, 2, 3].map((n) => writer.insert(inference(n, A, 10n * FEE), '[]', admit)))
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected'])
    writer.close()
  })

  it("holds the write lock from the start of a group: another connection's commit cannot come between a receipt's reads and its writes", async () => {
    const path = fresh()
    const writer = new ReceiptWriter(path)
    // The node's other connection (batches, chain events), which now writes from another thread.
    const other = new Database(path)
    other.pragma('busy_timeout = 0')
    let otherWrite = 'not tried'
    const admit = () => {
      // The receipt's transaction has read (its client's channel) when admit runs.
      try {
        other.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('probe', '1')").run()
        otherWrite = 'committed'
      } catch (error) {
        otherWrite = (error as { code?: string }).code ?? String(error)
      }
    }
    await writer.insert(inference(1, A, FEE), '[]', admit)
    // Deferred, the other commit went in and the receipt's insert then failed with SQLITE_BUSY.
    expect(otherWrite).toBe('SQLITE_BUSY')
    expect(writer.store.getInference(h(1, 1))).toMatchObject({ nonce: '1' })
    other.close()
    writer.close()
  })

  it("syncs a lone request's receipt on the event loop when told nothing else waits, on libuv's pool otherwise", async () => {
    const path = fresh()
    let alone = true
    const writer = new ReceiptWriter(path, { syncInline: () => alone })
    await writer.insert(inference(1, A, 10n * FEE), '[]')
    expect(writer.inlineSyncs).toBe(1)
    alone = false
    await writer.insert(inference(2, A, 10n * FEE), '[]')
    expect(writer.inlineSyncs).toBe(1)
    // A group handed in while others are in flight (not alone) goes to the pool too; alone again, inline.
    alone = true
    await writer.insert(inference(3, A, 10n * FEE), '[]')
    expect(writer.inlineSyncs).toBe(2)
    const group = [4, 5, 6].map((n) => writer.insert(inference(n, A, 10n * FEE), '[]'))
    await Promise.all(group)
    expect(writer.syncSizes).toEqual([1, 1, 1, 3])
    // Every receipt committed and synced either way.
    const other = new Database(path, { readonly: true })
    expect((other.prepare('SELECT COUNT(*) AS n FROM inferences').get() as { n: number }).n).toBe(6)
    other.close()
    writer.close()
  })

  it('drain waits for what is queued', async () => {
    const writer = new ReceiptWriter(fresh())
    const store = writer.store
    void writer.insert(inference(1, A, FEE), '[]')
    await writer.drain()
    expect(store.counts().inferences).toBe(1)
    writer.close()
  })
})

describe('ReceiptStore: redeemable vouchers without reading the history', () => {
  async function finalizedBatch(store: ReceiptStore, batchId: number, rows: ReturnType<typeof inference>[]) {
    for (const row of rows) store.insertInference(row, '[]')
    const stored = rows.map((r) => store.getInference(r.id)!)
    const batch = await store.createBatch(h(batchId, 9), stored, 0n, 0, batchId)
    store.markCommitted(batch.localId, batchId, 0, 0)
    store.setStatus(batchId, 'finalized', 1)
  }

  it('per client, the highest finalized voucher above what its channel paid; the next one when it is excluded', async () => {
    const store = new ReceiptStore(fresh())
    await finalizedBatch(store, 1, [inference(1, A, 3n * FEE), inference(2, A, 5n * FEE), inference(3, B, 2n * FEE)])
    // Answered, not finalized: not redeemable yet.
    store.insertInference(inference(4, A, 9n * FEE), '[]')
    const best = () => Object.fromEntries(store.redeemableVouchers().map((v) => [v.client, v.channelTotal]))
    expect(best()).toEqual({ [A]: (5n * FEE).toString(), [B]: (2n * FEE).toString() })
    await finalizedBatch(store, 2, [inference(5, A, 4n * FEE), inference(6, B, 7n * FEE)])
    expect(best()).toEqual({ [A]: (5n * FEE).toString(), [B]: (7n * FEE).toString() })
    store.setChannelPaid(B, 7n * FEE)
    expect(best()).toEqual({ [A]: (5n * FEE).toString() })
    expect(store.redeemableVouchers(new Set([h(2, 1)])).map((v) => v.channelTotal)).toEqual([(4n * FEE).toString()])
    store.close()
  })

  it('a store that does not sync on commit makes a new batch durable itself, off the event loop, and reads it back', async () => {
    const store = new ReceiptStore(fresh(), { syncOnCommit: false })
    expect(store.db.pragma('synchronous', { simple: true })).toBe(1)
    store.insertInference(inference(1, A, FEE), '[]')
    // The fsync runs on libuv's pool: the event loop turns (requests are served) before the batch resolves.
    let turned = false
    setImmediate(() => {
      turned = true
    })
    const batch = await store.createBatch(h(1, 9), [store.getInference(h(1, 1))!], FEE, 0, 1)
    expect(turned).toBe(true)
    expect(store.batchByLocal(batch.localId)).toMatchObject({ count: 1, status: 'pending', sequence: 1 })
    store.close()
  })

  it('a store from before the bookkeeping gains it from its finalized batches when opened', async () => {
    const path = fresh()
    const store = new ReceiptStore(path)
    await finalizedBatch(store, 1, [inference(1, A, 3n * FEE), inference(2, A, 5n * FEE)])
    store.close()
    // As an older version left it: no final_seq column.
    const db = new Database(path)
    db.exec('ALTER TABLE channels DROP COLUMN final_seq')
    db.close()
    const reopened = new ReceiptStore(path)
    expect(reopened.redeemableVouchers().map((v) => v.channelTotal)).toEqual([(5n * FEE).toString()])
    reopened.close()
  })
})
