import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Hex } from 'viem'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { h, receiptRow } from '../test/receiptRows.js'
import { ApiError } from './errors.js'
import { ReceiptStore } from './receiptStore.js'
import { createWriterThread } from './writerThread.js'

const A = '0x00000000000000000000000000000000000000aa' as Hex
const B = '0x00000000000000000000000000000000000000bb' as Hex
const C = '0x00000000000000000000000000000000000000cc' as Hex
const FEE = 1000n

describe('createWriterThread', () => {
  // One thread for the file (a start loads its modules: seconds from source on a busy machine); the last test restarts it.
  const path = join(mkdtempSync(join(tmpdir(), 'verity-writer-thread-')), 'node.sqlite')
  const writer = createWriterThread(path, { restartDelayMs: 0 })
  afterAll(() => writer.close())
  /** What another connection reads. */
  function read<T>(f: (store: ReceiptStore) => T): T {
    const store = new ReceiptStore(path)
    try {
      return f(store)
    } finally {
      store.close()
    }
  }

  it('stores the receipts of one turn in one group on its thread; another connection reads them once their promises resolve', async () => {
    await writer.stats()
    await Promise.all(Array.from({ length: 40 }, (_, i) => writer.insert(receiptRow(i, A, 100n * FEE, FEE), '[]', 100n * FEE)))
    expect(read((s) => s.counts().inferences)).toBe(40)
    expect(read((s) => s.channel(A))).toEqual({ authorized: 100n * FEE, charged: 40n * FEE, paid: 0n })
    expect((await writer.stats()).groupSizes).toEqual([40])
  })

  it('refuses one receipt of a group alone, with the ApiError the request path would have thrown; stores nothing for it', async () => {
    const results = await Promise.allSettled([
      writer.insert(receiptRow(101, B, 2n * FEE, FEE), '[]', 10n * FEE),
      writer.insert({ ...receiptRow(102, B, 2n * FEE, FEE), requestHash: h(101, 2), nonce: '101' }, '[]', 10n * FEE), // replays request 101 (its client and nonce)
      writer.insert(receiptRow(103, B, 2n * FEE, FEE), '[]', 10n * FEE),
      writer.insert(receiptRow(104, B, 2n * FEE, FEE), '[]', 10n * FEE), // a third fee on a voucher for two
      writer.insert(receiptRow(105, C, 9n * FEE, FEE), '[]', FEE),
      writer.insert(receiptRow(106, C, 9n * FEE, FEE), '[]', FEE), // escrow for one fee, already charged
    ])
    const refused = results.map((r) => (r.status === 'fulfilled' ? 'ok' : r.reason))
    expect(refused.map((r) => (r instanceof ApiError ? `${r.status} ${r.code}` : r))).toEqual([
      'ok',
      '409 REQUEST_REPLAYED',
      'ok',
      '402 CHANNEL_TOTAL_TOO_LOW',
      'ok',
      '402 INSUFFICIENT_ESCROW',
    ])
    expect((refused[5] as ApiError).details).toEqual({ escrow: FEE, fee: FEE })
    expect((refused[5] as ApiError).shortMessage).toBe(`client ${C} has 0 spendable in escrow, the fee is ${FEE}`)
    expect(read((s) => s.counts().inferences)).toBe(43)
    expect(read((s) => s.getInference(h(102, 1)))).toBeUndefined()
    expect(read((s) => [s.channel(B).charged, s.channel(C).charged])).toEqual([2n * FEE, FEE])
  })

  it('a thread that dies fails the receipts it held and is replaced: the next receipts are stored', async () => {
    const held = writer.insert(receiptRow(201, A, 1000n * FEE, FEE), '[]', 1000n * FEE)
    // What a crash looks like from the node: the thread ends with a receipt handed in.
    await writer.thread().terminate()
    await expect(held).rejects.toThrow(/receipt writer thread exited/)
    await vi.waitFor(() => expect(writer.restarts()).toBe(1), { timeout: 30_000 })
    await writer.insert(receiptRow(202, A, 1000n * FEE, FEE), '[]', 1000n * FEE)
    await writer.drain()
    expect(read((s) => s.getInference(h(202, 1))?.nonce)).toBe('202')
  })
})
