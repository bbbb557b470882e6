import { encodeMode } from '@verity/contracts'
import { type Hex, keccak256, toHex } from 'viem'
import { describe, expect, it } from 'vitest'
import {
  assignedLeaves,
  bitmapOf,
  type NodeRecord,
  perVerifierRate,
  rateThreshold,
  type SamplingPolicy,
  SELECT_ALL,
  samplingRate,
  samplingRateBps,
  selectionDraw,
  selectionDraws,
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

describe('samplingRateBps', () => {
  it('is samplingRate in basis points, floored by the deployment’s minimum', () => {
    expect(samplingRateBps(mature, policy)).toBe(100)
    expect(samplingRateBps(mature, policy, 5_000)).toBe(5_000)
    expect(samplingRateBps({ ...mature, commits: 0 }, policy, 300)).toBe(1_000)
    expect(samplingRate(mature, policy, 10_000)).toBe(1)
  })
})

describe('perVerifierRate and selectionDraws', () => {
  it('assigns each of V verifiers a leaf with q = P / ((1 − P)·V), so that 1 − (1 − q)^V ≥ P', () => {
    for (const [P, V] of [
      [0.01, 20],
      [0.3, 3],
      [0.004, 100],
      [0.04, 7],
    ] as const) {
      const q = perVerifierRate(P, V)
      expect(q).toBeCloseTo(P / ((1 - P) * V), 12)
      expect(1 - (1 - q) ** V).toBeGreaterThanOrEqual(P)
      expect(1 - (1 - q) ** V).toBeLessThanOrEqual(P / (1 - P))
    }
    expect(perVerifierRate(0.5, 1)).toBe(1)
    expect(perVerifierRate(1, 20)).toBe(1)
    expect(perVerifierRate(0, 20)).toBe(0)
    expect(perVerifierRate(0.2, 0)).toBe(0)
  })

  it('draws count · q leaves, rounded at random by the extra draw; every leaf when q ≥ 1, none without verifiers or rate', () => {
    expect(selectionDraws({ rateBps: 10_000, verifiers: 5 }, 16, 0n)).toEqual({ draws: 16, all: true })
    expect(selectionDraws({ rateBps: 5_000, verifiers: 1 }, 16, 0n)).toEqual({ draws: 16, all: true })
    expect(selectionDraws({ rateBps: 0, verifiers: 5 }, 16, 0n)).toEqual({ draws: 0, all: false })
    expect(selectionDraws({ rateBps: 40, verifiers: 0 }, 16, 0n)).toEqual({ draws: 0, all: false })
    expect(selectionDraws({ rateBps: 40, verifiers: 3 }, 0, 0n)).toEqual({ draws: 0, all: false })
    // P = 20 %, V = 4, 1,000 leaves: λ = 1,000 × 2,000 / (8,000 × 4) = 62.5 → 62 or 63.
    const denominator = 8_000n * 4n
    const remainder = (2_000n * 1_000n) % denominator
    expect(selectionDraws({ rateBps: 2_000, verifiers: 4 }, 1_000, remainder - 1n)).toEqual({ draws: 63, all: false })
    expect(selectionDraws({ rateBps: 2_000, verifiers: 4 }, 1_000, remainder)).toEqual({ draws: 62, all: false })
    // The extra draw is taken mod (10⁴ − P)·V: a uint256 draw behaves like its remainder.
    expect(selectionDraws({ rateBps: 2_000, verifiers: 4 }, 1_000, denominator * 12345n + remainder - 1n).draws).toBe(63)
    // P = 0.4 %, V = 20, 1,024 leaves: λ ≈ 0.21 — most verifiers draw nothing.
    expect(selectionDraws({ rateBps: 40, verifiers: 20 }, 1_024, 0n).draws).toBe(1)
    expect(selectionDraws({ rateBps: 40, verifiers: 20 }, 1_024, 199_200n - 1n).draws).toBe(0)
  })

  it('is what assignedLeaves samples: V verifiers check a receipt with probability ≥ P', () => {
    const V = 4
    const assignment = { rateBps: 2_000, verifiers: V }
    const checked = new Set<number>()
    for (let v = 0; v < V; v++) {
      const leaves = assignedLeaves(keccak256(toHex('block')), `0x${String(v + 1).padStart(40, '0')}`, 7, 500, assignment)
      expect(leaves).toEqual([...new Set(leaves)].sort((a, b) => a - b))
      for (const i of leaves) checked.add(i)
    }
    // 500 receipts, λ = 31.25 draws each (with replacement): 1 − (1 − 1/500)^125 ≈ 0.221, 111 expected, sd ≈ 9
    expect(checked.size).toBeGreaterThan(82)
    expect(checked.size).toBeLessThan(140)
    expect(assignedLeaves(keccak256(toHex('block')), verifierA, 7, 5, { rateBps: 10_000, verifiers: 3 })).toEqual([0, 1, 2, 3, 4])
    expect(assignedLeaves(keccak256(toHex('block')), verifierA, 7, 5, { rateBps: 0, verifiers: 3 })).toEqual([])
  })
})

const block = `0x${'5a'.repeat(32)}` as Hex
const verifierA = `0x${'0a'.repeat(20)}` as Hex
const verifierB = `0x${'0b'.repeat(20)}` as Hex
const optimistic = encodeMode('optimistic')

describe('selectionDraw', () => {
  it('is fixed by the commit block, the verifier, the batch and the leaf, and differs when any of them does', () => {
    const draw = selectionDraw(block, verifierA, 7, 0)
    expect(draw).toBe(selectionDraw(block, verifierA, 7, 0))
    expect(
      new Set([
        draw,
        selectionDraw(block, verifierB, 7, 0),
        selectionDraw(block, verifierA, 8, 0),
        selectionDraw(block, verifierA, 7, 1),
        selectionDraw(`0x${'5b'.repeat(32)}`, verifierA, 7, 0),
      ]).size,
    ).toBe(5)
    expect(draw).toMatchInlineSnapshot(`9411091936910083253781985652627999718687903170397616213619775417365939451672n`)
  })
})

describe('selectReceipts', () => {
  it('checks quorum receipts always and every other leaf (whatever its mode) when it is drawn', () => {
    const modes = [0, optimistic, encodeMode('quorum:2'), 0, optimistic, encodeMode('quorum:5')]
    const none = { rateBps: 0, verifiers: 3 }
    expect(selectReceipts(block, verifierA, 1, modes, { assignment: none, ownThreshold: 0n })).toEqual([2, 5])
    expect(selectReceipts(block, verifierA, 1, modes, { assignment: none, ownThreshold: SELECT_ALL })).toEqual([0, 1, 2, 3, 4, 5])
    expect(selectReceipts(block, verifierA, 1, modes, { assignment: { rateBps: 10_000, verifiers: 3 }, ownThreshold: 0n })).toEqual([
      0, 1, 2, 3, 4, 5,
    ])
    expect(selectReceipts(block, verifierA, 1, modes, { assignment: none, ownThreshold: rateThreshold(-1) })).toEqual([2, 5])
    expect(selectReceipts(block, verifierA, 1, modes, { assignment: none, ownThreshold: rateThreshold(7) })).toEqual([0, 1, 2, 3, 4, 5])
  })

  it('draws each leaf independently from the seed: the share is the rate, the picks are the verifier’s', () => {
    const modes = new Array<number>(4000).fill(optimistic)
    const none = { rateBps: 0, verifiers: 3 }
    const own = (rate: number) => ({ assignment: none, ownThreshold: rateThreshold(rate) })
    const a = selectReceipts(block, verifierA, 3, modes, own(0.3))
    const b = selectReceipts(block, verifierB, 3, modes, own(0.3))
    expect(a.length / modes.length).toBeCloseTo(0.3, 1)
    expect(b.length / modes.length).toBeCloseTo(0.3, 1)
    // Two verifiers check different receipts: their overlap is about rate² of the batch, not the rate.
    const overlap = a.filter((i) => new Set(b).has(i)).length
    expect(overlap / modes.length).toBeCloseTo(0.09, 1)
    expect(selectReceipts(block, verifierA, 3, modes, own(0.3))).toEqual(a)
    // A higher own threshold checks a superset, and the assignment is always in: a verifier
    // configured to check more still covers what it must attest.
    const more = new Set(selectReceipts(block, verifierA, 3, modes, own(0.5)))
    expect(a.every((i) => more.has(i))).toBe(true)
    const assignment = { rateBps: 400, verifiers: 3 }
    const assigned = assignedLeaves(block, verifierA, 3, 4000, assignment)
    expect(assigned.length).toBeGreaterThan(0)
    const both = new Set(selectReceipts(block, verifierA, 3, modes, { assignment, ownThreshold: rateThreshold(0.3) }))
    expect(assigned.every((i) => both.has(i)) && a.every((i) => both.has(i))).toBe(true)
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
