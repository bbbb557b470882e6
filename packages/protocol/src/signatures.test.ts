import { secp256k1 } from '@noble/curves/secp256k1'
import { seededRandom } from '@verity/runtime/core'
import { bytesToHex } from 'viem'
import { publicKeyToAddress } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { addressOfPublicKey } from './signatures.js'

describe('addressOfPublicKey', () => {
  it('gives viem’s address for the uncompressed public keys of random private keys', () => {
    const rand = seededRandom(17)
    for (let k = 0; k < 50; k++) {
      const key = Uint8Array.from({ length: 32 }, () => Math.floor(rand() * 256))
      key[0] = (key[0]! % 0xfe) + 1 // below the curve order, never zero
      const publicKey = secp256k1.getPublicKey(key, false)
      expect(addressOfPublicKey(publicKey)).toBe(publicKeyToAddress(bytesToHex(publicKey)))
    }
  })

  it('refuses a compressed key or one of another length, saying what it found', () => {
    const compressed = secp256k1.getPublicKey(new Uint8Array(32).fill(7), true)
    expect(() => addressOfPublicKey(compressed)).toThrow(/found 33 bytes starting 0x0[23]/)
    const notUncompressed = Uint8Array.from(secp256k1.getPublicKey(new Uint8Array(32).fill(7), false))
    notUncompressed[0] = 2
    expect(() => addressOfPublicKey(notUncompressed)).toThrow(/found 65 bytes starting 0x02/)
  })
})
