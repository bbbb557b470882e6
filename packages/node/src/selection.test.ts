import { encodeMode } from '@verity/contracts'
import { type Hex, keccak256, toHex } from 'viem'
import { describe, expect, it } from 'vitest'
import {
  bitmapOf,
  type NodeRecord,
  perVerifierRate,
  type SamplingPolicy,
  samplingRate,
  selectionSeed,
  selectReceipts,
} from './selection.js'

const policy: SamplingPolicy = {
  baseRateBps: 100,
  newNodeRateBps: 1_000,
  maturityCommits: 100,
  overturnedRateBps: 500,
  maxRateBps: 10_000,
  receiptSlash: 10n,
}
/** A mature node with ample stake and no record. */
const mature: NodeRecord = { stake: 1_000_000n, openReceipts: 100, commits: 1_000, overturned: 0 }

describe('samplingRate', () => {
  it('is the floor P0 for a mature, well-staked node with a clean record', () => {
    expect(samplingRate(mature, policy)).toBe(0.01)
    expect(samplingRate({ ...mature, openReceipts: 0 }, policy)).toBe(0.01)
  })

  it('checks a new node more, falling linearly to the floor over its first commits', () => {
    const rates = [0, 1, 50, 99, 100, 5_000].map((commits) => samplingRate({ ...mature, commits }, policy))
    expect(rates).toEqual([0.1, 0.0991, 0.055, 0.0109, 0.01, 0.01])
  })

  it('raises the rate by overturnedRateBps per overturned receipt, capped at 1', () => {
    expect(samplingRate({ ...mature, overturned: 1 }, policy)).toBe(0.06)
    expect(samplingRate({ ...mature, overturned: 3 }, policy)).toBe(0.16)
    expect(samplingRate({ ...mature, overturned: 1_000 }, policy)).toBe(1)
    expect(samplingRate({ ...mature, overturned: 1_000 }, { ...policy, maxRateBps: 5_000 })).toBe(0.5)
    expect(samplingRate({ ...mature, commits: 0 }, { ...policy, maxRateBps: 500 })).toBe(0.05)
  })

  it('up to doubles the rate when the stake barely covers the open receipts', () => {
    // coverage 1.0 → ×2, 1.5 → ×1.5, ≥ 2 → ×1
    expect(samplingRate({ ...mature, stake: 1_000n }, policy)).toBe(0.02)
    expect(samplingRate({ ...mature, stake: 1_500n }, policy)).toBe(0.015)
    expect(samplingRate({ ...mature, stake: 2_000n }, policy)).toBe(0.01)
  })

  it('never goes below the floor, whatever the parameters', () => {
    expect(samplingRate(mature, { ...policy, newNodeRateBps: 0 })).toBe(0.01)
    expect(samplingRate({ ...mature, commits: 0 }, { ...policy, maturityCommits: 0 })).toBe(0.01)
    expect(samplingRate({ ...mature, overturned: 9 }, { ...policy, maxRateBps: 50 })).toBe(0.01)
  })
})

describe('perVerifierRate', () => {
  it('makes 1 − (1 − q)^V equal to P', () => {
    for (const [P, V] of [
      [0.01, 20],
      [0.3, 3],
      [0.5, 1],
      [0.001, 100],
    ] as const) {
      const q = perVerifierRate(P, V)
      expect(1 - (1 - q) ** V).toBeCloseTo(P, 12)
    }
    expect(perVerifierRate(0.5, 1)).toBe(0.5)
    expect(perVerifierRate(1, 20)).toBe(1)
    expect(perVerifierRate(0, 20)).toBe(0)
    expect(perVerifierRate(0.2, 0)).toBe(0)
  })

  it('is what selectReceipts samples at: V verifiers at q check a receipt with probability P', () => {
    const P = 0.2
    const V = 4
    const q = perVerifierRate(P, V)
    const modes = new Array<number>(500).fill(1)
    const checked = new Set<number>()
    for (let v = 0; v < V; v++) {
      const seed = selectionSeed(keccak256(toHex('block')), `0x${String(v + 1).padStart(40, '0')}`, 7)
      for (const i of selectReceipts(seed, modes, q)) checked.add(i)
    }
    // 500 receipts at P = 0.2: 100 expected, sd ≈ 9
    expect(checked.size).toBeGreaterThan(70)
    expect(checked.size).toBeLessThan(130)
  })
})

const block = `0x${'5a'.repeat(32)}` as Hex
const verifierA = `0x${'0a'.repeat(20)}` as Hex
const verifierB = `0x${'0b'.repeat(20)}` as Hex
const optimistic = encodeMode('optimistic')

describe('selectionSeed', () => {
  it('is fixed by the commit block, the verifier and the batch, and differs when any of them does', () => {
    const seed = selectionSeed(block, verifierA, 7)
    expect(seed).toBe(selectionSeed(block, verifierA, 7))
    expect(
      new Set([
        seed,
        selectionSeed(block, verifierB, 7),
        selectionSeed(block, verifierA, 8),
        selectionSeed(`0x${'5b'.repeat(32)}`, verifierA, 7),
      ]).size,
    ).toBe(4)
    expect(seed).toMatchInlineSnapshot(`"0xfe782e059f89e929402077cd05e93eaabf98c8b915a222c069ab18e7e9b282d6"`)
  })
})

describe('selectReceipts', () => {
  it('always checks quorum receipts, never mode none, and optimistic ones at the rate', () => {
    const seed = selectionSeed(block, verifierA, 1)
    const modes = [0, optimistic, encodeMode('quorum:2'), 0, optimistic, encodeMode('quorum:5')]
    expect(selectReceipts(seed, modes, 0)).toEqual([2, 5])
    expect(selectReceipts(seed, modes, 1)).toEqual([1, 2, 4, 5])
    // Out-of-range rates are clamped.
    expect(selectReceipts(seed, modes, -1)).toEqual([2, 5])
    expect(selectReceipts(seed, modes, 7)).toEqual([1, 2, 4, 5])
  })

  it('draws each optimistic receipt independently from the seed: the share is the rate, the picks are the seed’s', () => {
    const modes = new Array<number>(4000).fill(optimistic)
    const a = selectReceipts(selectionSeed(block, verifierA, 3), modes, 0.3)
    const b = selectReceipts(selectionSeed(block, verifierB, 3), modes, 0.3)
    expect(a.length / modes.length).toBeCloseTo(0.3, 1)
    expect(b.length / modes.length).toBeCloseTo(0.3, 1)
    // Two verifiers check different receipts: their overlap is about rate² of the batch, not the rate.
    const overlap = a.filter((i) => new Set(b).has(i)).length
    expect(overlap / modes.length).toBeCloseTo(0.09, 1)
    expect(selectReceipts(selectionSeed(block, verifierA, 3), modes, 0.3)).toEqual(a)
    // A higher rate checks a superset.
    const more = new Set(selectReceipts(selectionSeed(block, verifierA, 3), modes, 0.5))
    expect(a.every((i) => more.has(i))).toBe(true)
  })
})

describe('bitmapOf', () => {
  it('sets bit i of word ⌊i / 256⌋, with one word per 256 receipts', () => {
    expect(bitmapOf([], 0)).toEqual([])
    expect(bitmapOf([], 1)).toEqual([0n])
    expect(bitmapOf([0, 2], 3)).toEqual([5n])
    expect(bitmapOf([0, 255, 256, 511], 512)).toEqual([1n | (1n << 255n), 1n | (1n << 255n)])
    expect(bitmapOf([256], 257)).toEqual([0n, 1n])
  })
})
