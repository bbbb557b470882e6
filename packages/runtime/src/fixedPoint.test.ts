import { describe, expect, it } from 'vitest'
import { floorDiv, quantizeMultiplier, quantizeMultipliers, requant, roundDiv, rshift, sat16 } from './fixedPoint.js'

describe('fixed-point primitives', () => {
  it('rshift rounds half toward +infinity', () => {
    expect([5, 6, 7, -5, -6, -7, 0].map((v) => rshift(v, 1))).toEqual([3, 3, 4, -2, -3, -3, 0])
    expect([3, 4, 5, -3, -4, -5].map((v) => rshift(v, 3))).toEqual([0, 1, 1, 0, 0, -1])
    expect(rshift(12345, 0)).toBe(12345)
    // Exact at the edge of the semantics: |v| + 2^(s-1) < 2^53.
    expect(rshift(2 ** 52 - 1, 52)).toBe(1)
    expect(rshift(-(2 ** 51) - 1, 52)).toBe(-1)
  })

  it('saturates to int16', () => {
    expect([40000, -40000, 32767, -32768, 0].map(sat16)).toEqual([32767, -32768, 32767, -32768, 0])
    expect(requant(1000, 3, 1)).toBe(1500)
    expect(requant(100000, 1, 0)).toBe(32767)
  })

  it('floorDiv and roundDiv are exact where the double quotient would round', () => {
    const a = 2 ** 52 - 1
    expect(floorDiv(a, 3)).toBe(1501199875790165)
    expect(floorDiv(-7, 2)).toBe(-4)
    expect(roundDiv(7, 2)).toBe(4)
    expect(roundDiv(-7, 2)).toBe(-3)
    expect(roundDiv(5, 3)).toBe(2)
    for (let i = 0; i < 2000; i++) {
      const x = Math.floor(Math.random() * 2 ** 52) - 2 ** 51
      const y = 1 + Math.floor(Math.random() * 2 ** 31)
      const q = floorDiv(x, y)
      expect(BigInt(q)).toBe((BigInt(x) - (((BigInt(x) % BigInt(y)) + BigInt(y)) % BigInt(y))) / BigInt(y))
    }
  })

  it('quantizeMultiplier keeps v·m below 2^52 for |v| ≤ bound and uses the most precision that allows', () => {
    for (const [ratio, bound] of [
      [0.0123, 2 ** 30],
      [3.7, 2 ** 20],
      [1e-9, 2 ** 40],
      [0.5, 32768],
    ] as const) {
      const { m, s } = quantizeMultiplier(ratio, bound)
      expect(m * bound).toBeLessThan(2 ** 52)
      expect(m).toBeLessThanOrEqual(2 ** 31 - 1)
      expect(s).toBeGreaterThanOrEqual(0)
      expect(s).toBeLessThanOrEqual(52)
      if (m > 0) expect(Math.abs(m / 2 ** s - ratio) / ratio).toBeLessThan(2 ** -Math.min(20, Math.log2(m) - 1))
    }
    expect(quantizeMultiplier(0.25, 32768)).toMatchInlineSnapshot(`
      {
        "m": 1073741824,
        "s": 32,
      }
    `)
    expect(quantizeMultiplier(0, 10)).toEqual({ m: 0, s: 0 })
    expect(() => quantizeMultiplier(Number.NaN, 1)).toThrow(/finite/)
    expect(() => quantizeMultiplier(2 ** 40, 2 ** 20)).toThrow(/too large/)
  })

  it('quantizeMultipliers shares one shift and bounds the sum', () => {
    const { m, s } = quantizeMultipliers([0.5, -0.25, 0.125], 32768)
    expect(m.map((x) => x / 2 ** s)).toEqual([0.5, -0.25, 0.125])
    expect(m.reduce((a, x) => a + Math.abs(x) * 32768, 0)).toBeLessThan(2 ** 52)
  })
})
