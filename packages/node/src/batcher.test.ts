import { batchLeavesFor, decoyCount, decoyPositions } from '@verity/contracts'
import { keccak256, toHex } from 'viem'
import { describe, expect, it } from 'vitest'
import {
  decideBatch,
  decideFinalize,
  decideRedemptions,
  decoyLookNeeded,
  decoysDue,
  decoysNeeded,
  layoutBatch,
  lazyAttesters,
  realReceiptsFor,
  stakeCapacity,
  watchDecoys,
} from './batcher.js'
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
  it('layoutBatch: every real receipt once, in order, decoy j exactly where the salt puts it', () => {
    const real = Array.from({ length: 50 }, (_, i) => `r${i}`)
    const decoys = Array.from({ length: decoysNeeded(50, 500) }, (_, j) => `d${j}`)
    expect(decoys).toHaveLength(3)
    const layout = layoutBatch(real, decoys, salt, 500)
    expect(layout.filter((l) => l.startsWith('r'))).toEqual(real)
    expect(layout).toHaveLength(batchLeavesFor(50, 500))
    for (const d of decoyPositions(salt, layout.length, 500)) expect(layout[d.position]).toBe(`d${d.decoy}`)
    // A cut must take exactly the decoys its size hides.
    expect(() => layoutBatch(real, decoys.slice(1), salt, 500)).toThrow(/hides 3 decoys, 2 given/)
  })
  it('decoysDue: decoy j is made inside the stretch where it is needed, at a secret count or time, all of them at a cut', () => {
    const base = { salt, decoyRateBps: 2500, maxSize: 40, maxAgeMs: 1000, cutting: false, waitedMs: 0 }
    // Never more than the batch needs, never fewer than it needed one stretch earlier, all at a cut.
    for (let real = 0; real <= 60; real++) {
      const due = decoysDue({ ...base, real })
      const n = Math.min(real, 40)
      expect(due).toBeLessThanOrEqual(decoysNeeded(n, 2500))
      expect(due).toBeGreaterThanOrEqual(Math.max(0, decoysNeeded(n, 2500) - 1))
      expect(decoysDue({ ...base, real, cutting: true })).toBe(decoysNeeded(n, 2500))
      // Once the oldest receipt has waited the whole batch age, every needed decoy is due.
      expect(decoysDue({ ...base, real, waitedMs: 1000 })).toBe(decoysNeeded(n, 2500))
    }
    // The count at which the first decoy comes differs from salt to salt (not always after the first receipt).
    const firstAt = (s: `0x${string}`) => {
      for (let real = 1; ; real++) if (decoysDue({ ...base, salt: s, real, maxSize: 64, decoyRateBps: 100, maxAgeMs: 1e9 }) > 0) return real
    }
    const counts = new Set(Array.from({ length: 20 }, (_, i) => firstAt(keccak256(toHex(`salt ${i}`)))))
    expect(counts.size).toBeGreaterThan(5)
    for (const c of counts) expect(c).toBeLessThanOrEqual(64)
    // And by time alone: a lone receipt gets its decoy within the batch age.
    const times = Array.from({ length: 20 }, (_, i) => {
      const s = { ...base, salt: keccak256(toHex(`salt ${i}`)), real: 1, decoyRateBps: 100, maxSize: 64 }
      let t = 0
      while (decoysDue({ ...s, waitedMs: t }) === 0) t += 10
      return t
    })
    expect(new Set(times).size).toBeGreaterThan(5)
    expect(Math.max(...times)).toBeLessThanOrEqual(1000)
  })
  it('decoyLookNeeded: never skips a look when a decoy is due, and looks about once per decoy', () => {
    for (let i = 0; i < 12; i++) {
      const o = { salt: keccak256(toHex(`watch ${i}`)), decoyRateBps: [100, 500, 2500][i % 3]!, maxSize: [64, 256][i % 2]!, maxAgeMs: 1000 }
      // One batch filling: a receipt every `gapMs`, each told to the batcher; a look makes what is due and watches again.
      for (const gapMs of [0.5, 2, 20]) {
        const oldestMs = 10_000
        let held = 0
        let looks = 0
        let watch = watchDecoys({ real: 0, noted: 0, oldestMs: undefined, held, salt: o.salt }, o.decoyRateBps, o.maxSize, o.maxAgeMs)
        for (let real = 1; real <= o.maxSize; real++) {
          const nowMs = oldestMs + (real - 1) * gapMs
          const due = decoysDue({ ...o, real, waitedMs: nowMs - oldestMs, cutting: false })
          const look = decoyLookNeeded(watch, real, nowMs, o.decoyRateBps, o.maxSize)
          if (due > held) expect(look).toBe(true)
          if (!look) continue
          looks++
          held = due
          watch = watchDecoys({ real, noted: real, oldestMs, held, salt: o.salt }, o.decoyRateBps, o.maxSize, o.maxAgeMs)
        }
        expect(held).toBe(decoysDue({ ...o, real: o.maxSize, waitedMs: (o.maxSize - 1) * gapMs, cutting: false }))
        // The first receipt, then one look per decoy: never a look per receipt.
        expect(looks).toBeLessThanOrEqual(1 + decoysNeeded(o.maxSize, o.decoyRateBps))
      }
    }
    // An empty open batch: its first receipt looks; a batch holding all its decoys never does.
    const empty = watchDecoys({ real: 0, noted: 0, oldestMs: undefined, held: 0, salt }, 100, 64, 1000)
    expect(decoyLookNeeded(empty, 0, 0, 100, 64)).toBe(false)
    expect(decoyLookNeeded(empty, 1, 0, 100, 64)).toBe(true)
    const full = watchDecoys({ real: 64, noted: 0, oldestMs: 0, held: decoysNeeded(64, 100), salt }, 100, 64, 1000)
    expect(decoyLookNeeded(full, 500, 1e9, 100, 64)).toBe(false)
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
