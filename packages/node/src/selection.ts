import { encodeAbiParameters, type Hex, hexToBigInt, keccak256 } from 'viem'

/** `rateThreshold`'s value for "every leaf": a draw is a uint256, always below 2^256. */
export const SELECT_ALL = 1n << 256n
const UINT256_MAX = (1n << 256n) - 1n

/**
 * Pure: the per-leaf draw of a verifier's selection, uint256(keccak256(abi.encode(seed, verifier,
 * batchId, leaf))) — `seed` is the hash of the block that includes the batch's commit, unknown to the
 * node when it executed the receipts. Settlement's `attest` draws the same numbers.
 */
export function selectionDraw(seed: Hex, verifier: Hex, batchId: number | bigint, leaf: number | bigint): bigint {
  return hexToBigInt(
    keccak256(
      encodeAbiParameters(
        [{ type: 'bytes32' }, { type: 'address' }, { type: 'uint256' }, { type: 'uint256' }],
        [seed, verifier, BigInt(batchId), BigInt(leaf)],
      ),
    ),
  )
}

/** What Settlement fixed for a batch at its commit (`assignmentOf`): the node's sampling rate P in basis points and the verifiers V active then. */
export type Assignment = { rateBps: number; verifiers: number }

/**
 * Pure: how many leaves a verifier draws from a batch of `count` leaves under `assignment` —
 * Settlement's `selectionDraws`, exactly: λ = count · q with q = P / ((1 − P)·V), floor(λ) plus one
 * when `extraDraw` mod (10⁴ − P)·V falls below the remainder (so with probability frac(λ)); `all`
 * when q ≥ 1 (every leaf assigned). A leaf is then drawn by a verifier with probability ≈ q, and
 * checked by at least one of V honest verifiers with probability ≥ P up to V / (8 · count²), since
 * −ln(1 − P) ≤ P / (1 − P).
 *
 * @example
 * selectionDraws({ rateBps: 10_000, verifiers: 3 }, 16, 0n) // { draws: 16, all: true }
 */
export function selectionDraws(assignment: Assignment, count: number, extraDraw: bigint): { draws: number; all: boolean } {
  const v = BigInt(assignment.verifiers)
  const p = BigInt(assignment.rateBps)
  if (v === 0n || p <= 0n || count <= 0) return { draws: 0, all: false }
  if (p >= 10_000n) return { draws: count, all: true }
  const denominator = (10_000n - p) * v
  if (p >= denominator) return { draws: count, all: true }
  const numerator = p * BigInt(count)
  const extra = extraDraw % denominator < numerator % denominator ? 1n : 0n
  return { draws: Number(numerator / denominator + extra), all: false }
}

/** The index of the draw that decides whether a verifier draws one more leaf (type(uint256).max). */
const EXTRA_DRAW = UINT256_MAX

/** Pure: the threshold of a verifier's own fixed share `rate` ∈ [0, 1] (to check more than it is assigned). */
export function rateThreshold(rate: number): bigint {
  if (!(rate > 0)) return 0n
  if (rate >= 1) return SELECT_ALL
  return BigInt(Math.floor(rate * 2 ** 53)) << 203n
}

/**
 * Pure: the leaves of a batch of `count` assigned to `verifier` (sorted, each once) — those it must
 * attest (Settlement refuses an attestation that leaves one out): draw k names leaf
 * `selectionDraw(seed, verifier, batchId, k) mod count`, for k below `selectionDraws`.
 */
export function assignedLeaves(seed: Hex, verifier: Hex, batchId: number | bigint, count: number, assignment: Assignment): number[] {
  const { draws, all } = selectionDraws(assignment, count, selectionDraw(seed, verifier, batchId, EXTRA_DRAW))
  if (all) return Array.from({ length: count }, (_, i) => i)
  const leaves = new Set<number>()
  for (let k = 0; k < draws; k++) leaves.add(Number(selectionDraw(seed, verifier, batchId, k) % BigInt(count)))
  return [...leaves].sort((a, b) => a - b)
}

/** What a verifier re-executes in a batch: its assignment, and each leaf whose draw is below `ownThreshold` (its own fixed share, `rateThreshold`; 0 for none). */
export type Selection = { assignment: Assignment; ownThreshold: bigint }

/**
 * Pure: which receipts of a batch a verifier re-executes: its assigned leaves, every leaf whose draw is
 * below its own threshold, whatever the mode, and every quorum receipt (mode ≥ 0x80).
 */
export function selectReceipts(
  seed: Hex,
  verifier: Hex,
  batchId: number | bigint,
  modes: readonly number[],
  selection: Selection,
): number[] {
  const assigned = new Set(assignedLeaves(seed, verifier, batchId, modes.length, selection.assignment))
  const own = selection.ownThreshold
  return modes.flatMap((mode, i) =>
    assigned.has(i) || mode >= 0x80 || (own > 0n && (own >= SELECT_ALL || selectionDraw(seed, verifier, batchId, i) < own)) ? [i] : [],
  )
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
 * `rate` (P): min(1, P / ((1 − P)·V)) with P rounded to basis points as on-chain (`selectionDraws`
 * draws count · q leaves), so that a leaf is checked by at least one of them with probability ≥ P.
 * (For the simulation's closed forms.)
 *
 * @example
 * perVerifierRate(0.01, 20) // ≈ 0.000505
 */
export function perVerifierRate(rate: number, verifiers: number): number {
  const p = Math.round(Math.min(1, Math.max(0, rate)) * 10_000)
  const v = Math.max(0, Math.floor(verifiers))
  if (v === 0 || p === 0) return 0
  if (p >= 10_000 || p >= (10_000 - p) * v) return 1
  return p / ((10_000 - p) * v)
}
