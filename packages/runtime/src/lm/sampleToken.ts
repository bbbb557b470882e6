import { InvalidModelError } from '../errors.js'

/** 2^(−k/256) in Q30 for k = 0..255, from exact integer square roots (no Math.exp, no Math.pow). */
export const POW2_FRACTION: readonly number[] = (() => {
  const one = 1n << 60n
  const isqrt = (v: bigint): bigint => {
    let x = BigInt(Math.floor(Math.sqrt(Number(v))))
    while (x * x > v) x -= 1n
    while ((x + 1n) * (x + 1n) <= v) x += 1n
    return x
  }
  let r = one / 2n
  for (let i = 0; i < 8; i++) r = isqrt(r * one) // 2^(−1/2), 2^(−1/4), …, 2^(−1/256) in Q60
  const table = [2 ** 30]
  let cur = one
  for (let k = 1; k < 256; k++) {
    cur = (cur * r) / one
    table.push(Number((cur + (1n << 29n)) >> 30n))
  }
  return table
})()

export type SampleOptions = {
  /** 0 or absent: greedy (the largest logit, lowest index on ties). */
  temperature?: number | undefined
  /** Real value of one logit step (the logits tensor's scale). */
  scale: number
  /** A uniform 32-bit unsigned integer per call (seeded), used only when temperature > 0. */
  draw?: (() => number) | undefined
}

/**
 * Chooses the next token from one row of int16 logits — a deterministic integer function of the
 * row, the temperature and the drawn number, so anyone re-derives it:
 * greedy: argmax (lowest index on ties). Sampling at temperature τ:
 *   K = round(scale · log2(e) / τ · 2^16) (IEEE-754 double, correctly rounded operations only),
 *   z_j = (max − q_j) · K, w_j = ⌊P[⌊z_j / 2^8⌋ mod 256] / 2^⌊z_j / 2^16⌋⌋ (0 once ⌊z_j / 2^16⌋ ≥ 31)
 *   with P[k] = 2^(−k/256) in Q30 (POW2_FRACTION), so w_j ≈ 2^30 · exp(−(max − x_j) / τ);
 *   u = ⌊r · W / 2^32⌋ for the drawn r and W = Σ w_j; the token is the first j with w_0 + … + w_j > u.
 */
export function sampleToken(row: ArrayLike<number>, options: SampleOptions): number {
  let best = 0
  for (let j = 1; j < row.length; j++) if ((row[j] as number) > (row[best] as number)) best = j
  const t = options.temperature ?? 0
  if (t === 0) return best
  if (!(t > 0) || !Number.isFinite(t)) throw new InvalidModelError('temperature must be a finite number ≥ 0', { temperature: t })
  if (!options.draw) throw new InvalidModelError('sampling at a temperature needs a seeded draw', { temperature: t })
  const max = row[best] as number
  const k = Math.min(2 ** 31, Math.round(((options.scale * Math.LOG2E) / t) * 65536))
  const w = new Float64Array(row.length)
  let total = 0
  for (let j = 0; j < row.length; j++) {
    const z = (max - (row[j] as number)) * k
    const e = Math.floor(z / 65536)
    w[j] = e >= 31 ? 0 : Math.floor((POW2_FRACTION[Math.floor(z / 256) % 256] as number) / 2 ** e)
    total += w[j] as number
  }
  const r = options.draw()
  const u = Number((BigInt(r >>> 0) * BigInt(total)) >> 32n)
  let cum = 0
  for (let j = 0; j < row.length; j++) {
    cum += w[j] as number
    if (cum > u) return j
  }
  return best
}
