import { QuantizationError } from '../errors.js'
import { INT16_MAX, quantizeMultiplier } from '../fixedPoint.js'

export const INT8_MAX = 127
export const INT32_MAX = 2 ** 31 - 1

/**
 * Symmetric per-row quantization (int8 by default, int16 with limit 32767) of a weight matrix laid out as `rows` contiguous rows:
 * scale_r = max|w_r| / 127, q = round(w / scale_r).
 */
export function quantizeRows(w: Float64Array, rows: number): { q: Int8Array; scales: Float64Array }
export function quantizeRows(w: Float64Array, rows: number, limit: number): { q: Int8Array | Int16Array; scales: Float64Array }
export function quantizeRows(w: Float64Array, rows: number, limit = INT8_MAX): { q: Int8Array | Int16Array; scales: Float64Array } {
  const cols = w.length / rows
  const q = limit > INT8_MAX ? new Int16Array(w.length) : new Int8Array(w.length)
  const scales = new Float64Array(rows)
  for (let r = 0; r < rows; r++) {
    let max = 0
    for (let i = r * cols; i < (r + 1) * cols; i++) max = Math.max(max, Math.abs(w[i] as number))
    const s = max > 0 ? max / limit : 1
    scales[r] = s
    for (let i = r * cols; i < (r + 1) * cols; i++) q[i] = Math.max(-limit, Math.min(limit, Math.round((w[i] as number) / s)))
  }
  return { q, scales }
}

/** Bias in the accumulator's scale (s_x · s_w), as int32. */
export function quantizeBias(b: Float64Array | undefined, rows: number, accScale: (r: number) => number): Int32Array {
  const out = new Int32Array(rows)
  if (!b) return out
  for (let r = 0; r < rows; r++) {
    const v = Math.round((b[r] as number) / accScale(r))
    if (Math.abs(v) > INT32_MAX) {
      throw new QuantizationError('A bias does not fit in int32 at the accumulator scale', { row: r, bias: b[r], quantized: v })
    }
    out[r] = v
  }
  return out
}

/**
 * Per-row requantization multipliers for a dot-product op: the accumulator of row r is bounded by
 * 32768 · Σ|w_r| + |b_r|, and m_r · 2^-s_r ≈ s_x · s_w[r] / s_y.
 */
export function rowMultipliers(
  q: Int8Array | Int16Array,
  bias: Int32Array,
  rows: number,
  ratio: (r: number) => number,
): { m: Int32Array; s: Int32Array } {
  const cols = q.length / rows
  const m = new Int32Array(rows)
  const s = new Int32Array(rows)
  for (let r = 0; r < rows; r++) {
    let sumAbs = 0
    for (let i = r * cols; i < (r + 1) * cols; i++) sumAbs += Math.abs(q[i] as number)
    const bound = (INT16_MAX + 1) * sumAbs + Math.abs(bias[r] as number)
    const mult = quantizeMultiplier(ratio(r), bound)
    m[r] = mult.m
    s[r] = mult.s
  }
  return { m, s }
}
