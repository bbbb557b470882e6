import { encodeAbiParameters, type Hex, hexToBigInt, keccak256 } from 'viem'

/** `selectionThreshold`'s value for "every leaf": a draw is a uint256, always below 2^256. */
export const SELECT_ALL = 1n << 256n
const UINT256_MAX = (1n << 256n) - 1n

/**
 * Pure: the per-leaf draw of a verifier's selection, uint256(keccak256(abi.encode(seed, verifier,
 * batchId, leaf))) — `seed` is the hash of the block that includes the batch's commit, unknown to the
 * node when it executed the receipts. Settlement's `attest` draws the same numbers.
 */
export function selectionDraw(seed: Hex, verifier: Hex, batchId: number | bigint, leaf: number): bigint {
  return hexToBigInt(
    keccak256(
      encodeAbiParameters(
        [{ type: 'bytes32' }, { type: 'address' }, { type: 'uint256' }, { type: 'uint256' }],
        [seed, verifier, BigInt(batchId), BigInt(leaf)],
      ),
    ),
  )
}

/**
 * Pure: the per-verifier selection threshold of a batch sampled at `rateBps` (P) with `verifiers` (V)
 * registered at its commit — Settlement's `selectionThreshold`, exactly: a leaf whose draw is below it
 * is assigned, so each verifier is assigned a leaf with probability q = P / ((1 − P)·V), and a leaf is
 * checked by at least one of V honest verifiers with probability ≥ P (−ln(1 − P) ≤ P / (1 − P)).
 * `SELECT_ALL` when q ≥ 1, 0 when nothing is assigned (no verifiers, P = 0).
 *
 * @example
 * selectionThreshold(10_000, 3) === SELECT_ALL
 */
export function selectionThreshold(rateBps: number, verifiers: number | bigint): bigint {
  const v = BigInt(verifiers)
  const p = BigInt(rateBps)
  if (v === 0n || p <= 0n) return 0n
  if (p >= 10_000n) return SELECT_ALL
  const denominator = (10_000n - p) * v
  if (p >= denominator) return SELECT_ALL
  return (UINT256_MAX / denominator) * p
}

/** Pure: the threshold of a verifier's own fixed share `rate` ∈ [0, 1] (to check more than it is assigned). */
export function rateThreshold(rate: number): bigint {
  if (!(rate > 0)) return 0n
  if (rate >= 1) return SELECT_ALL
  return BigInt(Math.floor(rate * 2 ** 53)) << 203n
}

/**
 * Pure: the leaves of a batch of `count` assigned to `verifier` — those it must attest (Settlement
 * refuses an attestation that leaves one out). Monotone in `threshold`: a higher one selects a superset.
 */
export function assignedLeaves(seed: Hex, verifier: Hex, batchId: number | bigint, count: number, threshold: bigint): number[] {
  if (threshold === 0n) return []
  if (threshold >= SELECT_ALL) return Array.from({ length: count }, (_, i) => i)
  const picked: number[] = []
  for (let i = 0; i < count; i++) if (selectionDraw(seed, verifier, batchId, i) < threshold) picked.push(i)
  return picked
}

/**
 * Pure: which receipts of a batch a verifier re-executes: every leaf whose draw is below `threshold`
 * (its assignment, or more: `max(selectionThreshold(P, V), rateThreshold(ownRate))`), whatever its mode,
 * plus every quorum receipt (mode ≥ 0x80).
 */
export function selectReceipts(seed: Hex, verifier: Hex, batchId: number | bigint, modes: readonly number[], threshold: bigint): number[] {
  const assigned = new Set(assignedLeaves(seed, verifier, batchId, modes.length, threshold))
  return modes.flatMap((mode, i) => (assigned.has(i) || mode >= 0x80 ? [i] : []))
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
 * Pure: the sampling rate P of a node's batch in basis points — Settlement's `samplingRateBps`,
 * exactly (integer arithmetic, same order of operations): in [P0, max(P0, maxRate)], never below the
 * deployment's floor `minRateBps`. A test checks it against the contract on random records.
 *
 * @example
 * samplingRateBps({ stake: 10n ** 21n, openReceipts: 100, commits: 5_000, overturned: 0 }, policy) // policy.baseRateBps
 */
export function samplingRateBps(record: NodeRecord, policy: SamplingPolicy, minRateBps = 0): number {
  const base = BigInt(policy.baseRateBps)
  const mature = BigInt(policy.maturityCommits)
  const commits = BigInt(record.commits)
  const young = commits < mature ? mature - commits : 0n
  const fresh = BigInt(policy.newNodeRateBps)
  const boost = mature > 0n && fresh > base ? ((fresh - base) * young) / mature : 0n
  let bps = base + boost + BigInt(policy.overturnedRateBps) * BigInt(record.overturned)
  const reserved = BigInt(record.openReceipts) * policy.receiptSlash
  const coverage = reserved === 0n ? 20_000n : (record.stake * 10_000n) / reserved
  if (coverage < 20_000n) bps = (bps * (30_000n - (coverage < 10_000n ? 10_000n : coverage))) / 10_000n
  if (bps > BigInt(policy.maxRateBps)) bps = BigInt(policy.maxRateBps)
  if (bps > 10_000n) bps = 10_000n
  if (bps < base) bps = base
  if (bps < BigInt(minRateBps)) bps = BigInt(minRateBps)
  return Number(bps)
}

/** Pure: `samplingRateBps` as a probability (P ∈ [0, 1]). */
export function samplingRate(record: NodeRecord, policy: SamplingPolicy, minRateBps = 0): number {
  return samplingRateBps(record, policy, minRateBps) / 10_000
}

/**
 * Pure: the rate q at which each of `verifiers` verifiers is assigned a leaf of a batch sampled at
 * `rate` (P): `selectionThreshold(P in bps, V) / 2^256` = min(1, P / ((1 − P)·V)), so that a leaf is
 * checked by at least one of them with probability ≥ P. (For the simulation's closed forms; the
 * selection itself compares draws with `selectionThreshold`.)
 *
 * @example
 * perVerifierRate(0.01, 20) // ≈ 0.000505
 */
export function perVerifierRate(rate: number, verifiers: number): number {
  const threshold = selectionThreshold(Math.round(Math.min(1, Math.max(0, rate)) * 10_000), Math.max(0, Math.floor(verifiers)))
  if (threshold >= SELECT_ALL) return 1
  return Number(threshold >> 203n) / 2 ** 53
}
