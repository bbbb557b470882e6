import { encodeAbiParameters, type Hex, hexToBigInt, keccak256 } from 'viem'

/**
 * Forced errors (docs/economics.md, "Decoys"): every batch hides receipts with deliberately wrong
 * outputs at positions fixed by a salt the node commits to (`decoyCommit`) and reveals only after
 * the challenge window. A verifier that attests a decoy without re-executing it is slashed; one that
 * challenges it is paid `decoyReward` by the node. These functions are the one definition of the
 * rule; `Settlement.sol` implements the same arithmetic (tested against this file).
 */

/** keccak256(abi.encode(salt)): what the node commits with its batch. */
export const decoyCommitOf = (salt: Hex): Hex => keccak256(encodeAbiParameters([{ type: 'bytes32' }], [salt]))

/** keccak256(abi.encode(salt, index)): the per-position secret; revealing it exposes only that position. */
export const decoySecretOf = (salt: Hex, index: number): Hex =>
  keccak256(encodeAbiParameters([{ type: 'bytes32' }, { type: 'uint256' }], [salt, BigInt(index)]))

/** A position is a decoy when its secret, as a number, is below `rateBps` / 10,000 of the range. */
export const isDecoySecret = (secret: Hex, rateBps: number): boolean => hexToBigInt(secret) % 10_000n < BigInt(rateBps)

export const isDecoyIndex = (salt: Hex, index: number, rateBps: number): boolean => isDecoySecret(decoySecretOf(salt, index), rateBps)

/** The output hash a decoy receipt carries: keccak256(abi.encode(secret)) — no real output hashes to it. */
export const decoyOutputHashOf = (secret: Hex): Hex => keccak256(encodeAbiParameters([{ type: 'bytes32' }], [secret]))

/**
 * Pure: the positions of a batch of `total` leaves that are decoys. The node builds its batch by
 * filling every other position with a real receipt, in order.
 */
export function decoyPositions(salt: Hex, total: number, rateBps: number): number[] {
  const out: number[] = []
  for (let i = 0; i < total; i++) if (isDecoyIndex(salt, i, rateBps)) out.push(i)
  return out
}
