import { getAddress, bytesToHex as viemBytesToHex, hexToBytes as viemHexToBytes, isAddress as viemIsAddress } from 'viem'
import { describe, expect, it } from 'vitest'
import { bytesToHex, checksumAddress, hexToBytes, isAddress } from './hex.js'

/** A deterministic byte source, so a failure names the values it was found on. */
function bytesFrom(seed: number) {
  let state = seed >>> 0
  return (n: number) =>
    Uint8Array.from({ length: n }, () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0
      return state >>> 24
    })
}

describe('hex helpers (the light entry’s stand-ins for viem’s)', () => {
  it('give viem’s answers on random bytes and addresses, in every case', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const b = bytesFrom(seed)
      const bytes = b(seed % 70)
      expect(bytesToHex(bytes)).toBe(viemBytesToHex(bytes))
      expect(hexToBytes(viemBytesToHex(bytes))).toEqual(viemHexToBytes(viemBytesToHex(bytes)))
      const lower = viemBytesToHex(b(20))
      const checksummed = getAddress(lower)
      for (const form of [lower, checksummed, lower.toUpperCase().replace('0X', '0x')]) {
        expect(checksumAddress(form)).toBe(checksummed)
        expect(isAddress(form)).toBe(viemIsAddress(form))
      }
      // A mixed-case address whose case is not its checksum: refused by both (unless the flip leaves the checksum).
      const flipped = `0x${checksummed.slice(2).replace(/[a-f]/, (c) => c.toUpperCase())}`
      expect(isAddress(flipped)).toBe(viemIsAddress(flipped))
      // Twice: the cached answer is the same.
      expect(checksumAddress(lower)).toBe(checksummed)
    }
  })

  it('refuses what is not hex of whole bytes, and what is not an address', () => {
    for (const bad of ['', '0x1', 'ab', '0xzz', '0x 1', '00ff']) expect(() => hexToBytes(bad)).toThrow('expected 0x-hex of whole bytes')
    for (const bad of ['0x1234', `0x${'g'.repeat(40)}`, `${'0'.repeat(42)}`, `0x${'a'.repeat(41)}`]) {
      expect(isAddress(bad)).toBe(false)
      expect(() => checksumAddress(bad)).toThrow('an address is 0x followed by 40 hex digits')
    }
    expect(isAddress(42)).toBe(false)
  })
})
