import { encodeAbiParameters, type Hex, hexToBigInt, keccak256 } from 'viem'

/**
 * Forced errors (docs/economics.md, "Decoys"): every batch hides receipts with deliberately wrong
 * outputs. A node commits `keccak256(abi.encode(salt))` with its batch and reveals the salt only
 * after the challenge window. A batch of `count` leaves has ceil(count × rateBps / 10,000) decoys,
 * decoy j at a secret offset inside segment j (segments of ⌊count / decoys⌋ leaves), so every leaf
 * is a decoy with the same probability and revealing one decoy (a node conceding it) says nothing
 * about the others. A verifier that attests a decoy without re-executing it is slashed; one that
 * challenges it is paid `decoyReward` by the node. These functions are the one definition of the
 * rule; `Settlement.decoyPosition` implements the same arithmetic (tested against this file).
 */

const BPS = 10_000n

/** keccak256(abi.encode(salt)): what the node commits with its batch (inside its root). */
export const decoyCommitOf = (salt: Hex): Hex => keccak256(encodeAbiParameters([{ type: 'bytes32' }], [salt]))

/** The salt of a batch made without decoys (a deployment with `decoyRateBps` 0, tests and tools). */
export const NO_DECOYS_SALT = `0x${'00'.repeat(32)}` as Hex
export const NO_DECOYS_COMMIT = decoyCommitOf(NO_DECOYS_SALT)

/** keccak256(abi.encode(salt, j)): decoy j's secret; revealing it exposes only that decoy. */
export const decoySecretOf = (salt: Hex, decoy: number): Hex =>
  keccak256(encodeAbiParameters([{ type: 'bytes32' }, { type: 'uint256' }], [salt, BigInt(decoy)]))

/** The output hash a decoy receipt carries: keccak256(abi.encode(secret)) — no real output hashes to it. */
export const decoyOutputHashOf = (secret: Hex): Hex => keccak256(encodeAbiParameters([{ type: 'bytes32' }], [secret]))

/** How many decoys a batch of `count` leaves hides: ceil(count × rateBps / 10,000). */
export const decoyCount = (count: number, rateBps: number): number => Number((BigInt(count) * BigInt(rateBps) + BPS - 1n) / BPS)

/** Where decoy `decoy` of a batch sits, and its secret. */
export function decoyPosition(salt: Hex, decoy: number, count: number, rateBps: number): { position: number; secret: Hex } {
  const decoys = decoyCount(count, rateBps)
  if (decoy < 0 || decoy >= decoys) throw new RangeError(`decoy ${decoy} of a batch of ${count} with ${decoys} decoys`)
  const stride = BigInt(Math.floor(count / decoys))
  const secret = decoySecretOf(salt, decoy)
  return { position: Number(BigInt(decoy) * stride + (hexToBigInt(secret) % stride)), secret }
}

/** Pure: every decoy of a batch of `count` leaves, in position order. */
export function decoyPositions(salt: Hex, count: number, rateBps: number): { decoy: number; position: number; secret: Hex }[] {
  return Array.from({ length: decoyCount(count, rateBps) }, (_, decoy) => ({ decoy, ...decoyPosition(salt, decoy, count, rateBps) }))
}

/**
 * Pure: the number of leaves of a batch that carries `real` receipts and its decoys: the smallest
 * total with total − decoyCount(total) = real (that function grows by 0 or 1 per leaf, so it exists).
 */
export function batchLeavesFor(real: number, rateBps: number): number {
  if (rateBps >= 10_000) throw new RangeError('a decoy rate of 100 % leaves no room for receipts')
  // total − decoyCount(total) ≤ total·(1 − rate), so the answer is at least real / (1 − rate): start
  // just below that bound (one less, for the division's rounding) and step up — a few steps at most.
  let total = Math.max(real, Math.floor((real * 10_000) / (10_000 - rateBps)) - 1)
  while (total - decoyCount(total, rateBps) < real) total++
  return total
}
