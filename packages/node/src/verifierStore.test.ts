import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { VerifierStore } from './verifierStore.js'

const h = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as const
const batch = (batchId: number, node: `0x${string}`) => ({
  batchId,
  node,
  root: h(batchId),
  count: 4,
  dataUri: `http://127.0.0.1:1/v1/batches/${h(batchId)}`,
  blockHash: h(1000 + batchId),
  blockNumber: batchId,
  committedAt: 1_700_000_000,
})

describe('VerifierStore: which batch the verifier works on next', () => {
  const A = '0x00000000000000000000000000000000000000aa'
  const B = '0x00000000000000000000000000000000000000bb'

  it('skips the nodes already being verified, and batches whose backoff is not over', () => {
    const store = new VerifierStore(join(mkdtempSync(join(tmpdir(), 'verity-vstore-')), 'v.sqlite'))
    for (const [id, node] of [
      [1, A],
      [2, A],
      [3, B],
    ] as const)
      store.addBatch(batch(id, node))
    expect(store.nextToProcess(0)?.batchId).toBe(1)
    // Node A (any case) is busy: B's batch is next.
    expect(store.nextToProcess(0, [A.toUpperCase().replace('0X', '0x')])?.batchId).toBe(3)
    expect(store.nextToProcess(0, [A, B])).toBeUndefined()
    // A failed attempt waits for its retry time; the next batch of fewest attempts goes first.
    store.failed(1, 'FETCH_TIMEOUT', 5000)
    expect(store.get(1)).toMatchObject({ state: 'new', attempts: 1, nextAtMs: 5000, error: 'FETCH_TIMEOUT' })
    expect(store.nextToProcess(4999, [B])?.batchId).toBe(2)
    store.failed(2, 'FETCH_FAILED', 9000)
    expect(store.nextToProcess(5000, [B])?.batchId).toBe(1)
    // Past its challenge window a batch is skipped for good.
    store.failed(1, 'window over', undefined)
    expect(store.get(1)).toMatchObject({ state: 'skipped', attempts: 2 })
    expect(store.nextToProcess(Number.MAX_SAFE_INTEGER, [B])?.batchId).toBe(2)
    store.close()
  })
})
