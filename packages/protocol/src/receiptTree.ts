import { concat, type Hex, keccak256 } from 'viem'
import { bytesToHex } from './hex.js'
import { keccak256 as keccakBytes } from './keccak.js'

/**
 * The positional Merkle tree a batch commits to (docs/protocol.md, the same as
 * contracts/lib/ReceiptMerkle.sol): leaves are EIP-712 receipt digests in batch order, padded with
 * zero leaves to a power of two; parent = keccak256(left ‖ right); a proof is the
 * ceil(log2(count)) siblings from the leaf up.
 */
export type ReceiptTree = {
  root: Hex
  count: number
  depth: number
  /** Siblings of leaf `index`, bottom-up. */
  proof(index: number): Hex[]
}

const ZERO = `0x${'00'.repeat(32)}` as Hex

const PAIR = new Uint8Array(64)
const NIBBLE = new Int8Array(128).fill(-1)
for (let i = 0; i < 10; i++) NIBBLE[48 + i] = i
for (let i = 0; i < 6; i++) {
  NIBBLE[65 + i] = 10 + i
  NIBBLE[97 + i] = 10 + i
}
/** Writes a 0x-prefixed 32-byte hex string at `offset` of PAIR; false (PAIR unspecified) when it is not one. */
function fill(hex: string, offset: number): boolean {
  if (hex.length !== 66 || hex.charCodeAt(0) !== 48 || hex.charCodeAt(1) !== 120) return false
  for (let i = 0; i < 32; i++) {
    const hi = NIBBLE[hex.charCodeAt(2 + 2 * i)] ?? -1
    const lo = NIBBLE[hex.charCodeAt(3 + 2 * i)] ?? -1
    if (hi < 0 || lo < 0) return false
    PAIR[offset + i] = (hi << 4) | lo
  }
  return true
}
/**
 * keccak256(a ‖ b): for two 32-byte hex strings in WebAssembly (keccak.ts; a tree of 256 leaves is 511 of
 * these); anything else exactly as viem hashes it (same result, same errors).
 */
function hashPair(a: Hex, b: Hex): Hex {
  if (fill(a, 0) && fill(b, 32)) return bytesToHex(keccakBytes(PAIR))
  return keccak256(concat([a, b]))
}

/** Number of siblings in a proof for a batch of `count` receipts. */
export function receiptTreeDepth(count: number): number {
  let depth = 0
  while (2 ** depth < count) depth++
  return depth
}

/**
 * Builds the tree over receipt digests.
 *
 * @example
 * const tree = buildReceiptTree(digests)
 * verifyReceiptProof({ root: tree.root, leaf: digests[3], index: 3, count: digests.length, proof: tree.proof(3) }) // true
 */
export function buildReceiptTree(leaves: readonly Hex[]): ReceiptTree {
  if (leaves.length === 0) throw new RangeError('a receipt tree needs at least one leaf')
  const depth = receiptTreeDepth(leaves.length)
  const levels: Hex[][] = [[...leaves, ...new Array<Hex>(2 ** depth - leaves.length).fill(ZERO)]]
  for (let d = 0; d < depth; d++) {
    const below = levels[d]!
    const level: Hex[] = []
    for (let i = 0; i < below.length; i += 2) level.push(hashPair(below[i]!, below[i + 1]!))
    levels.push(level)
  }
  return {
    root: levels[depth]![0]!,
    count: leaves.length,
    depth,
    proof(index) {
      if (!Number.isInteger(index) || index < 0 || index >= leaves.length) {
        throw new RangeError(`receipt index must be in [0, ${leaves.length}), found ${index}`)
      }
      const siblings: Hex[] = []
      for (let d = 0, i = index; d < depth; d++, i >>= 1) siblings.push(levels[d]![i ^ 1]!)
      return siblings
    },
  }
}

/** The root implied by a leaf and its proof, or undefined when the index or the proof length is invalid. */
export function receiptRootFromProof(leaf: Hex, index: number, count: number, proof: readonly Hex[]): Hex | undefined {
  if (!Number.isInteger(index) || index < 0 || index >= count || proof.length !== receiptTreeDepth(count)) return undefined
  let node = leaf
  let i = index
  for (const sibling of proof) {
    node = (i & 1) === 0 ? hashPair(node, sibling) : hashPair(sibling, node)
    i >>= 1
  }
  return node
}

/** Whether `leaf` is receipt `index` of the batch with `root` and `count` receipts. */
export function verifyReceiptProof(parameters: { root: Hex; leaf: Hex; index: number; count: number; proof: readonly Hex[] }): boolean {
  const root = receiptRootFromProof(parameters.leaf, parameters.index, parameters.count, parameters.proof)
  return root !== undefined && root.toLowerCase() === parameters.root.toLowerCase()
}

/**
 * A batch's tree (docs/protocol.md, "Batches"): the receipt tree, its root hashed with the batch's
 * decoy commitment — root = keccak256(receiptsRoot ‖ decoyCommit) — so one committed root binds
 * both. A proof is the receipt tree's siblings followed by the decoy commitment.
 */
export type BatchTree = ReceiptTree & { receiptsRoot: Hex; decoyCommit: Hex }

/** The batch tree over receipt digests; `decoyCommit` is keccak256(abi.encode(salt)) of its decoys' salt. */
export function buildBatchTree(leaves: readonly Hex[], decoyCommit: Hex): BatchTree {
  const inner = buildReceiptTree(leaves)
  return {
    root: hashPair(inner.root, decoyCommit),
    count: inner.count,
    depth: inner.depth + 1,
    receiptsRoot: inner.root,
    decoyCommit,
    proof: (index) => [...inner.proof(index), decoyCommit],
  }
}

/** Number of elements in a batch proof for `count` receipts: the receipt tree's depth plus the decoy commitment. */
export const batchProofLength = (count: number): number => receiptTreeDepth(count) + 1

/** The batch root implied by a receipt digest and its batch proof, or undefined when the index or length is invalid. */
export function batchRootFromProof(leaf: Hex, index: number, count: number, proof: readonly Hex[]): Hex | undefined {
  if (proof.length !== batchProofLength(count)) return undefined
  const inner = receiptRootFromProof(leaf, index, count, proof.slice(0, -1))
  return inner === undefined ? undefined : hashPair(inner, proof.at(-1)!)
}

/** Whether `leaf` is receipt `index` of the batch with `root` and `count` receipts. */
export function verifyBatchProof(parameters: { root: Hex; leaf: Hex; index: number; count: number; proof: readonly Hex[] }): boolean {
  const root = batchRootFromProof(parameters.leaf, parameters.index, parameters.count, parameters.proof)
  return root !== undefined && root.toLowerCase() === parameters.root.toLowerCase()
}
