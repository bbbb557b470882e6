import { QuantizationError } from './errors.js'

/** Largest integer magnitude the semantics allow in any intermediate value: 2^53. */
export const EXACT_LIMIT = 2 ** 53

export const INT16_MIN = -32768
export const INT16_MAX = 32767

/** Saturates to the int16 activation range [-32768, 32767]. */
export function sat16(v: number): number {
  return v > INT16_MAX ? INT16_MAX : v < INT16_MIN ? INT16_MIN : v
}

/**
 * Rounding right shift: floor((v + 2^(s-1)) / 2^s) for s ≥ 1, v for s = 0 — round half toward
 * +∞. Exact in doubles because the semantics bound |v| + 2^(s-1) below 2^53 and s ≤ 52.
 */
export function rshift(v: number, s: number): number {
  if (s === 0) return v
  const p = POW2[s] as number
  return Math.floor((v + p * 0.5) / p)
}

const POW2 = Float64Array.from({ length: 64 }, (_, i) => 2 ** i)

/** Requantize: saturate16(rshift(v · m, s)). */
export function requant(v: number, m: number, s: number): number {
  return sat16(rshift(v * m, s))
}

/** Exact floor(a / b) for integers a, b (b > 0) below 2^53. */
export function floorDiv(a: number, b: number): number {
  let q = Math.floor(a / b)
  // The double quotient can round across an integer; correct it with exact products.
  if (q * b > a) q -= 1
  else if ((q + 1) * b <= a) q += 1
  return q
}

/** Division rounding half toward +∞: floor((2a + b) / 2b), for b > 0. */
export function roundDiv(a: number, b: number): number {
  return floorDiv(2 * a + b, 2 * b)
}

export type Multiplier = { m: number; s: number }

/**
 * Represents a positive real `ratio` as m · 2^-s with an integer m, such that for every
 * |v| ≤ bound the product v · m stays below 2^52 (so rshift is exact), m has as many significant
 * bits as that allows (at most 31), and 0 ≤ s ≤ 52.
 */
export function quantizeMultiplier(ratio: number, bound: number): Multiplier {
  if (!(ratio >= 0) || !Number.isFinite(ratio)) {
    throw new QuantizationError('Requantization ratio must be a finite non-negative number', { ratio })
  }
  if (ratio === 0) return { m: 0, s: 0 }
  const b = Math.max(1, bound)
  const maxM = Math.min(2 ** 31 - 1, Math.floor((2 ** 52 - 1) / b))
  if (maxM < 1) {
    throw new QuantizationError('Accumulator bound exceeds 2^52; the op cannot be computed exactly', {
      bound,
    })
  }
  // Largest s ≤ 52 with round(ratio · 2^s) ≤ maxM.
  let s = Math.floor(Math.log2(maxM / ratio))
  if (s > 52) s = 52
  if (s < 0) s = 0
  let m = Math.round(ratio * 2 ** s)
  while (m > maxM && s > 0) {
    s -= 1
    m = Math.round(ratio * 2 ** s)
  }
  if (m > maxM) {
    throw new QuantizationError('Requantization ratio too large for the accumulator bound', {
      ratio,
      bound,
      maxMultiplier: maxM,
    })
  }
  return { m, s }
}

/**
 * Multipliers m_i with one common shift s for a sum Σ v_i · m_i, where each |v_i| ≤ bound:
 * m_i · 2^-s ≈ ratios[i] (ratios may be negative), Σ bound · |m_i| < 2^52.
 */
export function quantizeMultipliers(ratios: readonly number[], bound: number): { m: number[]; s: number } {
  const largest = Math.max(...ratios.map(Math.abs))
  if (!Number.isFinite(largest)) throw new QuantizationError('Requantization ratios must be finite', { ratios })
  if (largest === 0) return { m: ratios.map(() => 0), s: 0 }
  const { s } = quantizeMultiplier(largest, bound * ratios.length)
  return { m: ratios.map((r) => Math.round(r * 2 ** s)), s }
}
