/**
 * A deterministic PRNG (mulberry32) giving uniform numbers in [0, 1): reproducible calibration
 * inputs, test inputs and sampling in tests and tools. Not for cryptographic use.
 *
 * @example
 * const rand = seededRandom(42)
 * const x = Float64Array.from({ length: 10 }, rand)
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
