/**
 * Seeded randomness for the simulation: a 32-bit PRNG (mulberry32) and exact draws of binomial and
 * negative-binomial counts by geometric skips (O(successes), no approximation), so a batch's sampled
 * receipts can be drawn in aggregate with the same distribution as one Bernoulli trial per receipt.
 */
export type Random = {
  /** Uniform in [0, 1). */
  next(): number
  /** Number of successes in `n` independent trials of probability `p` (exact). */
  binomial(n: number, p: number): number
  /** Indexes in [0, n) that succeed, each independently with probability `p`, ascending (exact). */
  positions(n: number, p: number): number[]
  /** Failures before the first success of probability `p` (exact; Infinity when p = 0). */
  geometric(p: number): number
  int(n: number): number
}

export function createRandom(seed: number): Random {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
  const geometric = (p: number): number => {
    if (p >= 1) return 0
    if (p <= 0) return Number.POSITIVE_INFINITY
    return Math.floor(Math.log1p(-next()) / Math.log1p(-p))
  }
  const positions = (n: number, p: number): number[] => {
    const out: number[] = []
    if (p <= 0 || n <= 0) return out
    if (p >= 1) return Array.from({ length: n }, (_, i) => i)
    let i = geometric(p)
    while (i < n) {
      out.push(i)
      i += 1 + geometric(p)
    }
    return out
  }
  const binomial = (n: number, p: number): number => {
    if (p <= 0 || n <= 0) return 0
    if (p >= 1) return n
    if (p > 0.5) return n - binomial(n, 1 - p)
    let count = 0
    let i = geometric(p)
    while (i < n) {
      count++
      i += 1 + geometric(p)
    }
    return count
  }
  return { next, binomial, positions, geometric, int: (n: number) => Math.floor(next() * n) }
}
