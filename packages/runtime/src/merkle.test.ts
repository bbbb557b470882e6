import { describe, expect, it } from 'vitest'
import {
  CHUNK_BYTES,
  chunkLeaves,
  fromHex,
  leafHash,
  merkleLevels,
  merkleProof,
  merkleRoot,
  nodeHash,
  rootFromProof,
  sha256,
  tensorRoot,
  toHex,
  ZERO_HASH,
} from './merkle.js'
import { tensorBytes } from './tensorBytes.js'

describe('tensor commitments', () => {
  it('hash leaves and nodes with distinct prefixes (known vectors)', () => {
    expect(toHex(sha256(new TextEncoder().encode('abc')))).toBe('0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    const chunk = new Uint8Array(CHUNK_BYTES)
    expect(toHex(leafHash(chunk))).toBe(toHex(sha256(new Uint8Array(1 + CHUNK_BYTES))))
    expect(toHex(nodeHash(ZERO_HASH, ZERO_HASH))).toBe(toHex(sha256(Uint8Array.of(1), new Uint8Array(64))))
    // A short last chunk is zero-padded.
    expect(leafHash(Uint8Array.of(7))).toEqual(leafHash(Uint8Array.from({ length: CHUNK_BYTES }, (_, i) => (i === 0 ? 7 : 0))))
  })

  it('commits an int16 tensor as little-endian chunks of 32 values', () => {
    const t = Int16Array.from({ length: 100 }, (_, i) => i * 300 - 15000)
    const bytes = tensorBytes(t)
    expect(bytes.length).toBe(200)
    expect([bytes[0], bytes[1]]).toEqual([0x68, 0xc5]) // -15000 = 0xc568, little-endian
    const leaves = chunkLeaves(bytes)
    expect(leaves.length).toBe(4)
    expect(tensorRoot(bytes)).toEqual(nodeHash(nodeHash(leaves[0]!, leaves[1]!), nodeHash(leaves[2]!, leaves[3]!)))
    expect(toHex(tensorRoot(bytes))).toMatchInlineSnapshot(`"0x0559aea7415e69443bc5fe0d26fc214deaf598d2e0086785dae1f09391b05eb9"`)
  })

  it('tensorRoot is the Merkle root of the chunk leaves at every length (one chunk, short last chunk, padding, empty)', () => {
    for (const length of [0, 1, 31, 32, 33, 64, 100, 784, 1000, 4097]) {
      const bytes = tensorBytes(Int16Array.from({ length }, (_, i) => ((i * 7919) % 65536) - 32768))
      expect(toHex(tensorRoot(bytes))).toBe(toHex(merkleRoot(chunkLeaves(bytes))))
    }
  })

  it('pads to a power of two; a single leaf is its own root', () => {
    const leaves = [sha256(Uint8Array.of(1)), sha256(Uint8Array.of(2)), sha256(Uint8Array.of(3))]
    expect(merkleRoot(leaves)).toEqual(nodeHash(nodeHash(leaves[0]!, leaves[1]!), nodeHash(leaves[2]!, ZERO_HASH)))
    expect(merkleRoot([leaves[0]!])).toEqual(leaves[0])
  })

  it('proofs verify for every leaf and fail for a wrong index, leaf or sibling', () => {
    const leaves = Array.from({ length: 13 }, (_, i) => sha256(Uint8Array.of(i)))
    const levels = merkleLevels(leaves)
    const root = merkleRoot(leaves)
    leaves.forEach((leaf, i) => {
      const proof = merkleProof(levels, i)
      expect(proof.length).toBe(4)
      expect(rootFromProof(leaf, i, proof)).toEqual(root)
      expect(rootFromProof(leaf, i ^ 1, proof)).not.toEqual(root)
      expect(rootFromProof(sha256(leaf), i, proof)).not.toEqual(root)
      const bad = [...proof]
      bad[2] = sha256(bad[2]!)
      expect(rootFromProof(leaf, i, bad)).not.toEqual(root)
    })
    expect(fromHex(toHex(root))).toEqual(root)
  })
})
