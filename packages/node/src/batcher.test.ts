import { describe, expect, it } from 'vitest'
import { decideBatch, decideFinalize, decideRedemptions, stakeCapacity } from './batcher.js'
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
