import { sha256 as sha256Js } from '@noble/hashes/sha2'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils'
import { tensorRootX4 } from './kernels/sha256x4.js'

/** Bytes per leaf chunk of a tensor commitment. The last chunk is zero-padded. */
export const CHUNK_BYTES = 64

/** The padding leaf used to fill a tree up to a power of two. */
export const ZERO_HASH = new Uint8Array(32)

/**
 * Node's native SHA-256 when there is one (found through `process.getBuiltinModule`, so a bundler
 * sees no Node import), the audited pure-JS one otherwise (a browser): the same function, one is faster.
 */
const nativeHash = (globalThis as { process?: { getBuiltinModule?(id: string): unknown } }).process?.getBuiltinModule?.('node:crypto') as
  | { hash(algorithm: string, data: Uint8Array, encoding: 'buffer'): Uint8Array }
  | undefined

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

export function sha256(...parts: Uint8Array[]): Uint8Array {
  const data = parts.length === 1 ? (parts[0] as Uint8Array) : concat(parts)
  return nativeHash ? new Uint8Array(nativeHash.hash('sha256', data, 'buffer')) : sha256Js(data)
}

// One scratch buffer for the prefixed hash inputs (leaves and nodes are both 65 bytes).
const scratch = new Uint8Array(1 + CHUNK_BYTES)

/** Leaf hash of one chunk: sha256(0x00 ‖ chunk), chunk zero-padded to CHUNK_BYTES. */
export function leafHash(chunk: Uint8Array): Uint8Array {
  if (chunk.length > CHUNK_BYTES) throw new RangeError(`a chunk has at most ${CHUNK_BYTES} bytes`)
  scratch.fill(0)
  scratch.set(chunk.subarray(0, CHUNK_BYTES), 1)
  return sha256(scratch)
}

/** Inner node hash: sha256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.length !== 32 || right.length !== 32) throw new RangeError('node children are 32-byte hashes')
  scratch[0] = 1
  scratch.set(left, 1)
  scratch.set(right, 33)
  return sha256(scratch)
}

/**
 * All levels of a Merkle tree over `leaves` (level 0 = leaves), padded to a power of two with
 * ZERO_HASH. A tree of one leaf has that leaf as its root.
 */
export function merkleLevels(leaves: Uint8Array[]): Uint8Array[][] {
  let level = leaves.length === 0 ? [ZERO_HASH] : [...leaves]
  const size = 2 ** Math.ceil(Math.log2(level.length))
  while (level.length < size) level.push(ZERO_HASH)
  const levels = [level]
  while (level.length > 1) {
    const next: Uint8Array[] = []
    for (let i = 0; i < level.length; i += 2) next.push(nodeHash(level[i] as Uint8Array, level[i + 1] as Uint8Array))
    levels.push(next)
    level = next
  }
  return levels
}

export function merkleRoot(leaves: Uint8Array[]): Uint8Array {
  const levels = merkleLevels(leaves)
  return (levels[levels.length - 1] as Uint8Array[])[0] as Uint8Array
}

/** Sibling hashes from leaf `index` up to the root. */
export function merkleProof(levels: Uint8Array[][], index: number): Uint8Array[] {
  const proof: Uint8Array[] = []
  let i = index
  for (let l = 0; l < levels.length - 1; l++) {
    proof.push((levels[l] as Uint8Array[])[i ^ 1] as Uint8Array)
    i >>= 1
  }
  return proof
}

/** Recomputes the root from a leaf, its index and its siblings. */
export function rootFromProof(leaf: Uint8Array, index: number, siblings: readonly Uint8Array[]): Uint8Array {
  let h = leaf
  let i = index
  for (const s of siblings) {
    h = i & 1 ? nodeHash(s, h) : nodeHash(h, s)
    i >>= 1
  }
  return h
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Leaf hashes of a tensor's canonical bytes, one per CHUNK_BYTES chunk. */
export function chunkLeaves(bytes: Uint8Array): Uint8Array[] {
  const leaves: Uint8Array[] = []
  for (let off = 0; off < bytes.length; off += CHUNK_BYTES) leaves.push(leafHash(bytes.subarray(off, off + CHUNK_BYTES)))
  return leaves
}

/**
 * The commitment to a tensor: the Merkle root over its chunk leaves (`merkleRoot(chunkLeaves(bytes))`),
 * every level hashed four at a time in WebAssembly SIMD (kernels/sha256x4.ts): a node hashes every
 * request's inputs with this, a verifier every tensor it commits to.
 */
export function tensorRoot(bytes: Uint8Array): Uint8Array {
  return bytes.length === 0 ? merkleRoot(chunkLeaves(bytes)) : tensorRootX4(bytes)
}

export function toHex(b: Uint8Array): `0x${string}` {
  return `0x${bytesToHex(b)}`
}

/** Strict hex decoding: `0x` then an even number of hex digits; throws on anything else. */
export function fromHex(h: string): Uint8Array {
  if (typeof h !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(h)) throw new TypeError('expected 0x-prefixed hex bytes')
  return hexToBytes(h.slice(2))
}
