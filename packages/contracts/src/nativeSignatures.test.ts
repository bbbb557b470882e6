import { recoverSignerJs } from '@verity/protocol'
import { type Hex, keccak256, toHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { nativeSecp256k1, recoverSigner, signDigest } from './nativeSignatures.js'

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
const word = (v: bigint) => v.toString(16).padStart(64, '0')

describe('native secp256k1', () => {
  it('loads the prebuilt libsecp256k1 binding on this platform', () => {
    expect(nativeSecp256k1).toBe(true)
  })

  it('signs the bytes viem signs, and recovers what the JavaScript path recovers', async () => {
    for (let i = 1; i <= 40; i++) {
      const key = keccak256(toHex(`key ${i}`))
      const digest = keccak256(toHex(`digest ${i}`))
      const account = privateKeyToAccount(key)
      const signature = signDigest(key, digest)
      expect(signature).toBe(await account.sign({ hash: digest }))
      expect(recoverSigner(digest, signature)).toBe(account.address)
      expect(recoverSignerJs(digest, signature)).toBe(account.address)
    }
  })

  it('answers like the JavaScript path on malformed and edge-case signatures', () => {
    const key = keccak256(toHex('edge'))
    const digest = keccak256(toHex('edge digest'))
    const good = signDigest(key, digest)
    const r = BigInt(`0x${good.slice(2, 66)}`)
    const s = BigInt(`0x${good.slice(66, 130)}`)
    const v = good.slice(130)
    const cases: Hex[] = [
      good,
      `0x${word(r)}${word(N - s)}${v === '1b' ? '1c' : '1b'}`, // high s, flipped parity: the same signer
      `0x${word(r)}${word(s)}00`,
      `0x${word(r)}${word(s)}01`,
      `0x${word(r)}${word(s)}02`,
      `0x${word(r)}${word(s)}1d`,
      `0x${word(0n)}${word(s)}${v}`,
      `0x${word(r)}${word(0n)}${v}`,
      `0x${word(N)}${word(s)}${v}`,
      `0x${word(r)}${word(N)}${v}`,
      `0x${word(N + 1n)}${word(s)}${v}`,
      `0x${word(r)}${word(s)}`,
      `0x${good.slice(2)}00`,
      '0x',
    ]
    for (const signature of cases) expect(recoverSigner(digest, signature)).toBe(recoverSignerJs(digest, signature))
  })
})
