import { batchLeavesFor, decoyCount, decoyPositions } from '@verity/contracts'
import { keccak256, toHex } from 'viem'
import { describe, expect, it } from 'vitest'
import { decideBatch, decideFinalize, decideRedemptions, layoutBatch, lazyAttesters, realReceiptsFor, stakeCapacity } from './batcher.js'
import { chargeChannel } from './receiptStore.js'

describe('decideBatch', () => {
  const base = { maxSize: 4, maxAgeMs: 1000 }
  it('commits a full batch at once, and a partial one only once its oldest receipt is old enough', () => {
    expect(decideBatch({ ...base, unbatched: 9, oldestAgeMs: 0 })).toEqual({ action: 'commit', size: 4 })
    expect(decideBatch({ ...base, unbatched: 3, oldestAgeMs: 999 })).toEqual({ action: 'wait' })
    expect(decideBatch({ ...base, unbatched: 3, oldestAgeMs: 1000 })).toEqual({ action: 'commit', size: 3 })
    expect(decideBatch({ ...base, unbatched: 0, oldestAgeMs: undefined })).toEqual({ action: 'wait' })
  })
})

describe('decideFinalize', () => {
  it('settles a committed batch one second after its window, by the later of wall and chain clock', () => {
    expect(decideFinalize({ status: 'committed', committedAt: 100 }, 130_999, 30)).toBe(false)
    expect(decideFinalize({ status: 'committed', committedAt: 100 }, 131_000, 30)).toBe(true)
    expect(decideFinalize({ status: 'challenged', committedAt: 100 }, 1e9, 30)).toBe(false)
    expect(decideFinalize({ status: 'pending', committedAt: null }, 1e9, 30)).toBe(false)
  })
})

describe('stakeCapacity', () => {
  it('leaves room for exactly the receipts the stake can slash in full', () => {
    expect(stakeCapacity(1000n, 10n, 0)).toBe(100)
    expect(stakeCapacity(1000n, 10n, 95)).toBe(5)
    expect(stakeCapacity(1009n, 10n, 100)).toBe(0)
    // Slashed below what its open batches need: nothing more until they finalize.
    expect(stakeCapacity(500n, 10n, 80)).toBe(0)
  })
})

describe('decideRedemptions', () => {
  const policy = { minAmount: 100n, maxAgeMs: 60_000 }
  it('redeems a channel once it owes enough or its best voucher is old, never one that owes nothing', () => {
    const vouchers = [
      { client: 'a', channelTotal: 250n, paid: 100n, executedAtMs: 0 },
      { client: 'b', channelTotal: 150n, paid: 100n, executedAtMs: 50_000 },
      { client: 'c', channelTotal: 150n, paid: 100n, executedAtMs: 0 },
      { client: 'd', channelTotal: 100n, paid: 100n, executedAtMs: 0 },
    ]
    expect(decideRedemptions(vouchers, 70_000, policy)).toEqual(['a', 'c'])
    expect(decideRedemptions(vouchers, 110_000, policy)).toEqual(['a', 'b', 'c'])
  })
})

describe('chargeChannel', () => {
  const empty = { authorized: 0n, charged: 0n, paid: 0n }
  it('charges a fee the highest voucher covers, whatever order the vouchers arrive in', () => {
    const second = chargeChannel(empty, 20n, 10n)
    expect(second).toEqual({ authorized: 20n, charged: 10n, paid: 0n })
    expect(chargeChannel(second, 10n, 10n)).toEqual({ authorized: 20n, charged: 20n, paid: 0n })
  })
  it('refuses a fee beyond everything the client signed: 402 CHANNEL_TOTAL_TOO_LOW', () => {
    expect(() => chargeChannel({ authorized: 20n, charged: 20n, paid: 0n }, 20n, 10n)).toThrow(
      expect.objectContaining({ code: 'CHANNEL_TOTAL_TOO_LOW', status: 402 }),
    )
    expect(() => chargeChannel(empty, 9n, 10n)).toThrow(/authorize 9 in total/)
  })
})

describe('decoys in a batch (forced errors)', () => {
  const salt = keccak256(toHex('salt'))
  it('realReceiptsFor: the real receipts that fit, decoys included, never more leaves than allowed', () => {
    for (const rate of [0, 100, 200, 2500])
      for (const max of [0, 1, 2, 3, 50, 64, 1024]) {
        const real = realReceiptsFor(max, rate)
        expect(real === 0 || batchLeavesFor(real, rate) <= max).toBe(true)
        expect(batchLeavesFor(real + 1, rate) > max).toBe(true)
      }
    // batchLeavesFor is the smallest total whose real receipts reach `real` (against a plain walk).
    for (const rate of [0, 1, 100, 3333, 9999])
      for (let real = 0; real < 300; real += 7) {
        let walk = real
        while (walk - decoyCount(walk, rate) < real) walk++
        expect(batchLeavesFor(real, rate)).toBe(walk)
      }
    // A stake capacity in the billions (slash 0 caps it at 2³² − 1) is answered at once.
    const huge = 2 ** 32 - 1
    for (const rate of [0, 100, 9999]) {
      const real = realReceiptsFor(huge, rate)
      expect(batchLeavesFor(real, rate)).toBeLessThanOrEqual(huge)
      expect(real + decoyCount(huge, rate)).toBe(huge)
    }
    expect(realReceiptsFor(1, 200)).toBe(0)
    expect(realReceiptsFor(2, 200)).toBe(1)
  })
  it('layoutBatch: every real receipt once, in order, decoys exactly where the salt puts them', () => {
    const real = Array.from({ length: 50 }, (_, i) => `r${i}`)
    const layout = layoutBatch(real, salt, 500)
    expect(layout.filter((l) => 'real' in l).map((l) => ('real' in l ? l.real : ''))).toEqual(real)
    const positions = decoyPositions(salt, layout.length, 500).map((d) => d.position)
    expect(layout.flatMap((l, i) => ('decoy' in l ? [i] : []))).toEqual(positions)
    for (const l of layout) if ('decoy' in l) expect(real).toContain(l.template)
  })
  it('lazyAttesters: the decoys some verifier attested, with exactly those verifiers', () => {
    const a = '0x00000000000000000000000000000000000000aa' as const
    const b = '0x00000000000000000000000000000000000000bb' as const
    const decoys = [
      { decoy: 0, position: 3 },
      { decoy: 1, position: 300 },
    ]
    const found = lazyAttesters(decoys, [
      { verifier: a, bitmap: [1n << 3n, 0n] },
      { verifier: b, bitmap: [1n << 4n, 1n << 44n] },
    ])
    expect(found).toEqual([
      { decoy: 0, position: 3, attesters: [{ verifier: a, bitmap: [1n << 3n, 0n] }] },
      { decoy: 1, position: 300, attesters: [{ verifier: b, bitmap: [1n << 4n, 1n << 44n] }] },
    ])
    expect(lazyAttesters(decoys, [{ verifier: b, bitmap: [0n, 1n << 44n] }])).toEqual([
      { decoy: 1, position: 300, attesters: [{ verifier: b, bitmap: [0n, 1n << 44n] }] },
    ])
  })
})
