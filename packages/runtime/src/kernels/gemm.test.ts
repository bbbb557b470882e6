import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import wabtInit from 'wabt'
import { requant } from '../fixedPoint.js'
import { seededRandom } from '../seededRandom.js'
import { gemmRequant, kernelMemoryBytes, matmulRequant16, paddedWeights, roundUp } from './gemm.js'
import { wasmBase64 } from './gemmWasm.generated.js'

describe('WebAssembly SIMD gemm kernel', () => {
  it('is generated from gemm.wat (the committed bytes are not stale)', async () => {
    const wabt = await wabtInit()
    const path = new URL('./gemm.wat', import.meta.url).pathname
    const mod = wabt.parseWat(path, readFileSync(path, 'utf8'), { simd: true })
    const bytes = Buffer.from(mod.toBinary({}).buffer)
    mod.destroy()
    expect(bytes.toString('base64')).toBe(wasmBase64)
  })

  it('computes the exact Conv/Dense definition, including extreme values and K beyond one i32 block', () => {
    const rand = seededRandom(11)
    for (const [m, p, k, extreme] of [
      [3, 5, 7, false],
      [16, 33, 200, false],
      [4, 9, 1500, true],
      [2, 4, 4608, true],
    ] as const) {
      const w = Int8Array.from({ length: m * k }, () => (extreme ? (rand() < 0.5 ? -127 : 127) : Math.floor(rand() * 255) - 127))
      const x = Int16Array.from({ length: p * k }, () => (extreme ? (rand() < 0.5 ? -32768 : 32767) : Math.floor(rand() * 65536) - 32768))
      const bias = Int32Array.from({ length: m }, () => Math.floor(rand() * 2 ** 20) - 2 ** 19)
      // Multipliers chosen as the importer would: |acc| · mul < 2^52.
      const bound = 32768 * 127 * k + 2 ** 19
      const mul = Int32Array.from({ length: m }, () => 1 + Math.floor(rand() * Math.min(2 ** 31 - 2, 2 ** 52 / bound)))
      const shift = Int32Array.from({ length: m }, (_, i) => (i === 0 ? 0 : 20 + Math.floor(rand() * 20)))
      const kp = roundUp(k, 8)
      const out = gemmRequant(
        paddedWeights(w, m),
        m,
        kp,
        p,
        (cols) => {
          for (let j = 0; j < p; j++) cols.set(x.subarray(j * k, (j + 1) * k), j * kp)
        },
        bias,
        mul,
        shift,
      )
      const p4 = roundUp(p, 4)
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < p; j++) {
          let acc = BigInt(bias[i] as number)
          for (let t = 0; t < k; t++) acc += BigInt(w[i * k + t] as number) * BigInt(x[j * k + t] as number)
          expect(out[i * p4 + j]).toBe(requant(Number(acc), mul[i] as number, shift[i] as number))
        }
      }
    }
  })

  it('computes MatMulAct of two int16 activations exactly, including dots of (−32768)² + (−32768)² that wrap an i32 lane', () => {
    const rand = seededRandom(12)
    for (const [m, n, k, kind] of [
      [9, 5, 7, 'random'],
      [8, 33, 64, 'random'],
      [12, 8, 40, 'min'],
      [10, 6, 300, 'extreme'],
    ] as const) {
      const value = () =>
        kind === 'min' ? -32768 : kind === 'extreme' ? [-32768, 32767, -32767][Math.floor(rand() * 3)]! : Math.floor(rand() * 65536) - 32768
      const a = Int16Array.from({ length: 3 + m * k }, value)
      const b = Int16Array.from({ length: 5 + k * n }, value)
      const shift = 40
      const mul = Math.floor(2 ** 52 / (k * 2 ** 30)) - 1
      const out = matmulRequant16(a, 3, b, 5, m, n, k, mul, shift)
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let acc = 0n
          for (let t = 0; t < k; t++) acc += BigInt(a[3 + i * k + t] as number) * BigInt(b[5 + t * n + j] as number)
          expect(out[i * n + j], `${kind} [${i}, ${j}]`).toBe(requant(Number(acc), mul, shift))
        }
      }
    }
  })

  it('copies a weight matrix into its memory once, however many views of it a grouped Conv passes', () => {
    const rand = seededRandom(13)
    const [m, k, p] = [8, 4000, 3]
    const weights = paddedWeights(
      Int8Array.from({ length: m * k }, () => Math.floor(rand() * 255) - 127),
      m,
    )
    const x = Int16Array.from({ length: p * k }, () => Math.floor(rand() * 2001) - 1000)
    const ones = Int32Array.from({ length: m / 2 }, () => 1)
    const zeros = new Int32Array(m / 2)
    const group = (rows: Int16Array) => gemmRequant(rows, m / 2, k, p, (cols) => cols.set(x), zeros, ones, zeros)
    // Each group's rows as a fresh subarray on every run, as convInt passes them; a copy is a different matrix.
    const expected = [group(weights.slice(0, (m / 2) * k)), group(weights.slice((m / 2) * k))]
    const before = kernelMemoryBytes()
    for (let run = 0; run < 100; run++) {
      expect(group(weights.subarray(0, (m / 2) * k))).toEqual(expected[0])
      expect(group(weights.subarray((m / 2) * k))).toEqual(expected[1])
    }
    // 200 calls copying the 32 KB of rows each time would have grown it by 6.4 MB.
    expect(kernelMemoryBytes() - before).toBeLessThanOrEqual(2 * 65536)
  })
})
