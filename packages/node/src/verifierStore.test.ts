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

describe('VerifierStore: data challenges', () => {
  it('keeps published inputs, reopens a done batch, lists data challenges due, and lets a re-execution supersede a data challenge’s evidence', () => {
    const store = new VerifierStore(join(mkdtempSync(join(tmpdir(), 'verity-vstore-')), 'v.sqlite'))
    store.addBatch(batch(1, '0x00000000000000000000000000000000000000aa'))
    store.done(1, { checked: 4, matched: 3, attestTx: null })
    expect(store.nextToProcess(0)).toBeUndefined()
    // The node published a withheld input on-chain: kept by its hash (any case), and the batch is verified again.
    store.savePublishedInput(h(7).toUpperCase().replace('0X', '0x') as `0x${string}`, ['0x0100', '0xffff'])
    expect(store.publishedInput(h(7))).toEqual(['0x0100', '0xffff'])
    expect(store.publishedInput(h(8))).toBeUndefined()
    store.reopen(1)
    expect(store.nextToProcess(0)).toMatchObject({ batchId: 1, state: 'new' })
    // Open data challenges, expired once their deadline (chain seconds) is reached; closed ones are gone.
    store.addDataChallenge('3', 100)
    store.addDataChallenge('4', 50)
    expect(store.dataChallengesDue(49)).toEqual([])
    expect(store.dataChallengesDue(100)).toEqual(['4', '3'])
    store.closeDataChallenge('4')
    expect(store.dataChallengesDue(1000)).toEqual(['3'])
    expect(store.hasOpenDataChallenges()).toBe(true)
    // A data challenge's evidence (nothing re-executed: 0x) gives way to a re-execution's, once; a re-execution's stays.
    const receipt = { batchId: 1, index: 2, receiptJson: '{}', claimed: h(1) }
    store.recordEvidence({ ...receipt, recomputed: '0x' })
    store.challenged(1, 2, '3', h(9))
    expect(store.evidence(1, 2)).toMatchObject({ recomputed: '0x', challengeId: '3' })
    store.recordEvidence({ ...receipt, recomputed: h(2) })
    expect(store.evidence(1, 2)).toMatchObject({ recomputed: h(2), challengeId: null, tx: null })
    store.challenged(1, 2, '5', h(10))
    store.recordEvidence({ ...receipt, recomputed: h(3) })
    expect(store.evidence(1, 2)).toMatchObject({ recomputed: h(2), challengeId: '5' })
    store.close()
  })
})
