import { createHash, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { chunkLeaves, merkleRoot, tensorRoot } from './merkle.js'
import { sha256Prefixed } from './sha256Prefixed.js'

const reference = (prefix: number, bytes: Uint8Array) => createHash('sha256').update(Uint8Array.of(prefix)).update(bytes).digest()

describe('sha256Prefixed', () => {
  it('is SHA-256 of prefix ‖ 64 bytes, against node:crypto on random and edge-case messages', () => {
    const cases = [new Uint8Array(64), new Uint8Array(64).fill(0xff), ...Array.from({ length: 500 }, () => new Uint8Array(randomBytes(64)))]
    for (const [k, bytes] of cases.entries()) {
      const prefix = k % 3 === 2 ? 0xff : k % 2
      const out = new Uint8Array(32)
      sha256Prefixed(prefix, bytes, 0, out, 0)
      expect(Buffer.from(out).toString('hex')).toBe(reference(prefix, bytes).toString('hex'))
    }
  })

  it('reads at an offset and may write over its own input', () => {
    const buffer = new Uint8Array(randomBytes(200))
    const expected = reference(1, buffer.subarray(70, 134)).toString('hex')
    sha256Prefixed(1, buffer, 70, buffer, 70)
    expect(Buffer.from(buffer.subarray(70, 102)).toString('hex')).toBe(expected)
  })

  it('refuses a range outside its buffers', () => {
    expect(() => sha256Prefixed(0, new Uint8Array(63), 0, new Uint8Array(32), 0)).toThrow(RangeError)
    expect(() => sha256Prefixed(0, new Uint8Array(64), 0, new Uint8Array(32), 1)).toThrow(RangeError)
  })
})

describe('tensorRoot', () => {
  it('is the Merkle root over the chunk leaves, for every length around the chunk and power-of-two edges', () => {
    for (const length of [1, 2, 63, 64, 65, 127, 128, 129, 1568, 4096, 4097]) {
      const bytes = new Uint8Array(randomBytes(length))
      expect(Buffer.from(tensorRoot(bytes)).toString('hex')).toBe(Buffer.from(merkleRoot(chunkLeaves(bytes))).toString('hex'))
    }
  })
})
