import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import wabtInit from 'wabt'
import { chunkLeaves, merkleRoot } from '../merkle.js'
import { seededRandom } from '../seededRandom.js'
import { tensorRootX4 } from './sha256x4.js'
import { sha256x4Wat } from './sha256x4Wat.js'

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
const randomBytes = (rand: () => number, n: number) => Uint8Array.from({ length: n }, () => Math.floor(rand() * 256))

describe('SHA-256 four at a time (WebAssembly SIMD), the tensor Merkle tree', () => {
  it('is generated from sha256x4Wat.ts (the committed bytes are not stale)', async () => {
    const wabt = await wabtInit()
    const mod = wabt.parseWat('sha256x4.wat', sha256x4Wat(), { simd: true })
    const bytes = Buffer.from(mod.toBinary({}).buffer)
    mod.destroy()
    const generated = readFileSync(new URL('./sha256x4Wasm.generated.ts', import.meta.url), 'utf8')
    expect(generated).toContain(`'${bytes.toString('base64')}'`)
  })

  it('gives the root of node:crypto’s leaves and nodes at every length from 1 to 2,200 bytes (1 to 35 leaves: every group and padding case)', () => {
    const rand = seededRandom(5)
    for (let n = 1; n <= 2200; n++) {
      const bytes = randomBytes(rand, n)
      expect(hex(tensorRootX4(bytes)), `${n} bytes`).toBe(hex(merkleRoot(chunkLeaves(bytes))))
    }
  })

  it('gives it for all-zero and all-0xff tensors, and beyond the module’s first memory page, then for small ones again', () => {
    const rand = seededRandom(9)
    for (const bytes of [new Uint8Array(4096), new Uint8Array(4096).fill(0xff), randomBytes(rand, 100_000), randomBytes(rand, 600_001)])
      expect(hex(tensorRootX4(bytes)), `${bytes.length} bytes`).toBe(hex(merkleRoot(chunkLeaves(bytes))))
    const small = randomBytes(rand, 100)
    expect(hex(tensorRootX4(small))).toBe(hex(merkleRoot(chunkLeaves(small))))
  })

  it('leaves its input as it was', () => {
    const bytes = randomBytes(seededRandom(2), 1000)
    const before = Uint8Array.from(bytes)
    tensorRootX4(bytes)
    expect(bytes).toEqual(before)
  })
})
