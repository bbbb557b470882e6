import { readFileSync } from 'node:fs'
import { seededRandom } from '@verity/runtime/core'
import { bytesToHex, keccak256 as viemKeccak256 } from 'viem'
import { describe, expect, it } from 'vitest'
import wabtInit from 'wabt'
import { keccak256, keccak256Text } from './keccak.js'
import { keccakWat } from './keccakWat.js'

/** A deterministic byte source, so a failure names the lengths it was found on. */
function bytesFrom(seed: number) {
  const rand = seededRandom(seed)
  return (n: number) => Uint8Array.from({ length: n }, () => Math.floor(rand() * 256))
}

describe('keccak256 (WebAssembly)', () => {
  it('is generated from keccakWat.ts (the committed bytes are not stale)', async () => {
    const wabt = await wabtInit()
    const mod = wabt.parseWat('keccak.wat', keccakWat(), {})
    const bytes = Buffer.from(mod.toBinary({}).buffer)
    mod.destroy()
    const generated = readFileSync(new URL('./keccakWasm.generated.ts', import.meta.url), 'utf8')
    expect(generated).toContain(`'${bytes.toString('base64')}'`)
  })

  it('gives the known digests of the empty message and of "abc"', () => {
    expect(bytesToHex(keccak256(new Uint8Array(0)))).toBe('0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470')
    expect(bytesToHex(keccak256Text('abc'))).toBe('0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45')
  })

  it('gives viem’s digest for every length from 0 to 1,100 bytes (one to nine blocks, every padding case)', () => {
    const next = bytesFrom(7)
    for (let n = 0; n <= 1100; n++) {
      const data = next(n)
      expect(bytesToHex(keccak256(data)), `${n} bytes`).toBe(viemKeccak256(data))
    }
  })

  it('hashes messages larger than its first memory page, then small ones as before', () => {
    const next = bytesFrom(11)
    for (const n of [65_280, 65_281, 300_000]) {
      const data = next(n)
      expect(bytesToHex(keccak256(data)), `${n} bytes`).toBe(viemKeccak256(data))
    }
    const small = next(66)
    expect(bytesToHex(keccak256(small))).toBe(viemKeccak256(small))
  })

  it('leaves its input as it was, and each digest is a copy of its own', () => {
    const data = bytesFrom(3)(200)
    const before = Uint8Array.from(data)
    const first = keccak256(data)
    const second = keccak256(new Uint8Array(0))
    expect(data).toEqual(before)
    expect(bytesToHex(first)).toBe(viemKeccak256(data))
    expect(bytesToHex(second)).toBe(viemKeccak256(new Uint8Array(0)))
  })

  it('hashes text as its UTF-8 bytes', () => {
    for (const text of ['', 'EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)', 'Verity ✓ 検証'])
      expect(bytesToHex(keccak256Text(text))).toBe(viemKeccak256(new TextEncoder().encode(text)))
  })
})
