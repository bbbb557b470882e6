import { type Hex, hashTypedData } from 'viem'
import { describe, expect, it } from 'vitest'
import { eip712Types, type InferenceRequest, type Receipt, verityDomain } from './eip712.js'
import { hashReceipt, hashRequest } from './hashing.js'

/** A deterministic byte source, so a failure names the values it was found on. */
function bytesFrom(seed: number) {
  let state = seed >>> 0
  return (n: number): Hex => {
    let hex = '0x'
    for (let i = 0; i < n; i++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0
      hex += (state >>> 24).toString(16).padStart(2, '0')
    }
    return hex as Hex
  }
}
const uint = (hex: Hex, bits: number) => BigInt(hex) >> BigInt(Math.max(0, (hex.length - 2) * 4 - bits))

describe('hashRequest / hashReceipt', () => {
  const domain = { chainId: 31337, settlement: '0x5FbDB2315678afecb367f032d93F642f64180aa3' as const }
  it('equal viem hashTypedData on random structs, extreme values included', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const b = bytesFrom(seed)
      const edge = seed % 4 === 0 ? 'max' : seed % 4 === 1 ? 'zero' : 'random'
      const pick = (bits: number) => (edge === 'max' ? (1n << BigInt(bits)) - 1n : edge === 'zero' ? 0n : uint(b(32), bits))
      const request: InferenceRequest = {
        modelId: b(32),
        inputHash: b(32),
        node: b(20),
        mode: Number(pick(8)),
        maxFee: pick(96),
        nonce: pick(64),
        deadline: pick(64),
        channelTotal: pick(128),
      }
      const receipt: Receipt = {
        requestHash: b(32),
        modelId: b(32),
        inputHash: b(32),
        outputHash: b(32),
        node: b(20),
        client: b(20),
        fee: pick(96),
        issuedAt: pick(64),
        mode: Number(pick(8)),
      }
      const d = { chainId: seed, settlement: b(20) }
      for (const dom of [domain, d]) {
        expect(hashRequest(request, dom)).toBe(
          hashTypedData({ domain: verityDomain(dom), types: eip712Types, primaryType: 'InferenceRequest', message: request }),
        )
        expect(hashReceipt(receipt, dom)).toBe(
          hashTypedData({ domain: verityDomain(dom), types: eip712Types, primaryType: 'Receipt', message: receipt }),
        )
      }
    }
  })

  it('refuses what viem refuses, and non-hex bytes32: out-of-range integers, short hashes, bad addresses', () => {
    const request: InferenceRequest = {
      modelId: `0x${'11'.repeat(32)}`,
      inputHash: `0x${'22'.repeat(32)}`,
      node: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
      mode: 0,
      maxFee: 1n,
      nonce: 1n,
      deadline: 1n,
      channelTotal: 1n,
    }
    const bad: Partial<InferenceRequest>[] = [
      { maxFee: 1n << 96n },
      { maxFee: -1n },
      { mode: 256 },
      { channelTotal: 1n << 128n },
      { modelId: `0x${'11'.repeat(31)}` },
      { node: '0x5fbDB2315678afecb367f032d93F642f64180aa3' },
      { node: '0x5FbDB2315678afecb367f032d93F642f64180a' },
    ]
    for (const change of bad) {
      const message = { ...request, ...change }
      expect(() => hashTypedData({ domain: verityDomain(domain), types: eip712Types, primaryType: 'InferenceRequest', message })).toThrow()
      expect(() => hashRequest(message, domain)).toThrow()
    }
    // Stricter than viem, which hashes non-hex digits as if they were bytes.
    expect(() => hashRequest({ ...request, inputHash: `0x${'zz'.repeat(32)}` as Hex }, domain)).toThrow('is not hex')
  })
})
