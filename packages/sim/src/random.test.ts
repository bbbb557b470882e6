import { isDecoyIndex } from '@verity/contracts'
import { keccak256, toHex } from 'viem'
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

  it('draws decoy counts as isDecoyIndex places them (Bernoulli per leaf at decoyRateBps)', () => {
    // The shared rule over 20,000 leaves of real salts against the simulation's draw over as many.
    const rateBps = 500
    let shared = 0
    for (let s = 0; s < 20; s++) {
      const salt = keccak256(toHex(`salt ${s}`))
      for (let i = 0; i < 1000; i++) if (isDecoyIndex(salt, i, rateBps)) shared++
    }
    const drawn = createRandom(3).positions(20_000, rateBps / 10_000).length
    const sd = Math.sqrt(20_000 * 0.05 * 0.95)
    expect(Math.abs(shared - 1000)).toBeLessThan(4 * sd)
    expect(Math.abs(drawn - 1000)).toBeLessThan(4 * sd)
  })
})
