import { batchLeavesFor, decoyCount } from '@verity/contracts'
import { describe, expect, it } from 'vitest'
import { createRandom } from './random.js'

describe('createRandom', () => {
  it('is reproducible from its seed', () => {
    const a = createRandom(7)
    const b = createRandom(7)
    expect(Array.from({ length: 5 }, () => a.binomial(1000, 0.01))).toEqual(Array.from({ length: 5 }, () => b.binomial(1000, 0.01)))
    expect(createRandom(8).next()).not.toBe(createRandom(7).next())
  })

  it('draws binomial counts with the right mean and variance (geometric skips are exact)', () => {
    const r = createRandom(1)
    for (const [n, p] of [
      [1024, 0.004],
      [200, 0.3],
      [50, 0.9],
    ] as const) {
      const xs = Array.from({ length: 4000 }, () => r.binomial(n, p))
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length
      const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length
      expect(Math.abs(mean - n * p)).toBeLessThan(4 * Math.sqrt((n * p * (1 - p)) / xs.length))
      expect(variance / (n * p * (1 - p))).toBeGreaterThan(0.9)
      expect(variance / (n * p * (1 - p))).toBeLessThan(1.1)
    }
    expect(r.binomial(10, 0)).toBe(0)
    expect(r.binomial(10, 1)).toBe(10)
    expect(r.positions(5, 1)).toEqual([0, 1, 2, 3, 4])
  })

  it('counts decoys as the shared rule does: ceil(leaves × rate) per batch, about the rate of every leaf', () => {
    for (const n of [1, 16, 64, 1000]) {
      const leaves = batchLeavesFor(n, 100)
      expect(leaves - n).toBe(decoyCount(leaves, 100))
      expect((leaves - n) / leaves).toBeGreaterThanOrEqual(0.01 - 1e-9)
    }
  })
})
