import type { DeploymentParams } from './addressBook.js'

/**
 * The verification parameters derived by `@verity/sim`'s `deriveDefaults` from the measured cost
 * profiles (docs/economics.md, "Derived defaults"): the cheapest on its grid at which cheating loses
 * twice what it gains at every cheat rate and strategy, honest verifiers earn twice their costs, a
 * lazy verifier's best EV is ≤ 0, and a node cheating on 5 % of 36,000 receipts an hour is caught
 * within one window with probability ≥ 0.99. Slashes, rewards and bonds are in multiples of the fee
 * of one inference; rates in basis points. A test in @verity/sim fails when this constant and the
 * search disagree.
 */
export const DERIVED_DEFAULTS = {
  /** Floor P0 of the adaptive sampling rate: 0.4 % of a batch's optimistic receipts. */
  baseRateBps: 40,
  /** A new node's rate, falling linearly to P0 over its first `maturityCommits` commits. */
  newNodeRateBps: 400,
  maturityCommits: 100,
  /** Added per overturned receipt of the node. */
  overturnedRateBps: 400,
  maxRateBps: 5_000,
  /** Decoys (forced errors): 1 % of a batch's leaves. */
  decoyRateBps: 100,
  decoyRewardFees: 475,
  attesterSlashFees: 16_432,
  receiptSlashFees: 5_694,
  verifierShareBps: 4_255,
  bountyBps: 5_000,
  challengeBondFees: 2_400,
  /** Bond of a data challenge: the node's gas to answer one (`publishReceipt`, measured), so answering earns nothing. */
  dataChallengeBondFees: 177,
  challengeWindow: 3_600,
  dataResponseTime: 600,
} as const

/**
 * The deployment parameters that follow from the derived defaults for a network whose fee per
 * inference is `fee` (token wei), with the decoy amounts for the settlement's forced errors.
 *
 * @example
 * derivedDeploymentParams(10n ** 16n).slashAmount // 57 tokens per open receipt at a 0.01-token fee
 */
export function derivedDeploymentParams(fee: bigint): {
  params: Pick<
    DeploymentParams,
    | 'slashAmount'
    | 'attesterSlash'
    | 'challengeBond'
    | 'dataChallengeBond'
    | 'verifierShareBps'
    | 'bountyBps'
    | 'challengeWindow'
    | 'dataResponseTime'
  >
  decoyRateBps: number
  decoyReward: bigint
  /** What `samplingRate` (@verity/node) takes as its policy. */
  sampling: {
    baseRateBps: number
    newNodeRateBps: number
    maturityCommits: number
    overturnedRateBps: number
    maxRateBps: number
    receiptSlash: bigint
  }
} {
  const d = DERIVED_DEFAULTS
  return {
    params: {
      slashAmount: BigInt(d.receiptSlashFees) * fee,
      attesterSlash: BigInt(d.attesterSlashFees) * fee,
      challengeBond: BigInt(d.challengeBondFees) * fee,
      dataChallengeBond: BigInt(d.dataChallengeBondFees) * fee,
      verifierShareBps: d.verifierShareBps,
      bountyBps: d.bountyBps,
      challengeWindow: d.challengeWindow,
      dataResponseTime: d.dataResponseTime,
    },
    decoyRateBps: d.decoyRateBps,
    decoyReward: BigInt(d.decoyRewardFees) * fee,
    sampling: {
      baseRateBps: d.baseRateBps,
      newNodeRateBps: d.newNodeRateBps,
      maturityCommits: d.maturityCommits,
      overturnedRateBps: d.overturnedRateBps,
      maxRateBps: d.maxRateBps,
      receiptSlash: BigInt(d.receiptSlashFees) * fee,
    },
  }
}
