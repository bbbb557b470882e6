import { encodeAbiParameters, encodePacked, type Hex, hexToBigInt, keccak256 } from 'viem'

/**
 * The verifier's sampling seed for a batch: fixed by the hash of the block that includes the
 * commit, so the node could not know at execution time which receipts would be checked.
 */
export function selectionSeed(commitBlockHash: Hex, verifier: Hex, batchId: number): Hex {
  return keccak256(
    encodeAbiParameters([{ type: 'bytes32' }, { type: 'address' }, { type: 'uint256' }], [commitBlockHash, verifier, BigInt(batchId)]),
  )
}

/**
 * Pure: which receipts of a batch this verifier re-executes. Quorum receipts (mode ≥ 0x80) always;
 * optimistic receipts (mode 1) each with probability `rate`, by keccak(seed ‖ index); none (mode 0) never.
 */
export function selectReceipts(seed: Hex, modes: readonly number[], rate: number): number[] {
  const threshold = BigInt(Math.floor(Math.min(1, Math.max(0, rate)) * 2 ** 53)) << 11n
  const picked: number[] = []
  modes.forEach((mode, index) => {
    if (mode >= 0x80) picked.push(index)
    else if (mode === 1) {
      const draw = hexToBigInt(keccak256(encodePacked(['bytes32', 'uint256'], [seed, BigInt(index)]))) >> 192n
      if (rate >= 1 || draw < threshold) picked.push(index)
    }
  })
  return picked
}

/** Pure: the attestation bitmap words (bit i of word i / 256) for `count` receipts. */
export function bitmapOf(indexes: readonly number[], count: number): bigint[] {
  const words = new Array<bigint>(Math.ceil(count / 256)).fill(0n)
  for (const i of indexes) words[i >> 8] = words[i >> 8]! | (1n << BigInt(i & 255))
  return words
}

/**
 * What `samplingRate` reads about a node, all of it on-chain at the block of the batch's commit, so
 * anyone can recompute the rate: `stake` (NodeRegistry active stake), `openReceipts` and `commits`
 * (`Settlement.exposureOf`, including the batch being sampled) and `overturned` (the node's
 * `ReceiptOverturned` events before that block).
 */
export type NodeRecord = {
  stake: bigint
  openReceipts: number
  commits: number
  overturned: number
}

/**
 * How the sampling rate follows a node's record (rates in basis points of the receipts of a batch).
 * `baseRateBps` is the floor P0 (docs/economics.md derives it); a new node starts at `newNodeRateBps`,
 * falling linearly to the floor over its first `maturityCommits` commits; every overturned receipt
 * adds `overturnedRateBps`; a node whose stake covers its open receipts' slashes less than twice is
 * checked up to twice as often (it has the least to lose beyond the slash itself). The rate never
 * exceeds `maxRateBps` (at P = 1 every verifier would re-execute every receipt).
 */
export type SamplingPolicy = {
  baseRateBps: number
  newNodeRateBps: number
  maturityCommits: number
  overturnedRateBps: number
  maxRateBps: number
  receiptSlash: bigint
}

/**
 * Pure: the probability P that an optimistic receipt of this node's batch is re-executed by at least
 * one (honest) verifier — the node's adaptive sampling rate, in [P0, max(P0, maxRate)], exact in basis points.
 *
 * @example
 * samplingRate({ stake: 10n ** 21n, openReceipts: 100, commits: 5_000, overturned: 0 }, policy) // policy.baseRateBps / 1e4
 */
export function samplingRate(record: NodeRecord, policy: SamplingPolicy): number {
  const base = policy.baseRateBps
  const young = Math.max(0, policy.maturityCommits - record.commits)
  const boost = policy.maturityCommits > 0 ? Math.floor((Math.max(0, policy.newNodeRateBps - base) * young) / policy.maturityCommits) : 0
  let bps = base + boost + policy.overturnedRateBps * record.overturned
  // Coverage in basis points: stake ÷ (open receipts × slash), capped at 2 (20,000).
  const reserved = BigInt(record.openReceipts) * policy.receiptSlash
  const coverage =
    reserved === 0n ? 20_000 : Number((record.stake * 10_000n) / reserved > 20_000n ? 20_000n : (record.stake * 10_000n) / reserved)
  if (coverage < 20_000) bps = Math.floor((bps * (30_000 - Math.max(10_000, coverage))) / 10_000)
  return Math.max(base, Math.min(policy.maxRateBps, 10_000, bps)) / 10_000
}

/**
 * Pure: the rate q at which each of `verifiers` active verifiers samples a receipt, independently, so
 * that a receipt is checked by at least one of them with probability `rate`: 1 − (1 − q)^V = P.
 *
 * @example
 * perVerifierRate(0.01, 20) // ≈ 0.000502
 */
export function perVerifierRate(rate: number, verifiers: number): number {
  if (verifiers <= 0) return 0
  if (rate >= 1) return 1
  if (rate <= 0) return 0
  return -Math.expm1(Math.log1p(-rate) / verifiers)
}
