/**
 * The simulation's inputs: protocol parameters (what a deployment sets; slashes and rewards as
 * multiples of the fee), the economic environment (prices that are not the protocol's), the gas of
 * each call (measured: docs/gas-report.md, docs/dispute-gas.md) and per-model cost profiles
 * (measured: `npm run bench:profiles` → costProfiles.json).
 */
export type ProtocolParams = {
  /** Floor P0 of the sampling rate (basis points of a batch's optimistic receipts). */
  baseRateBps: number
  /** Sampling rate of a node with no commits yet (falls linearly to P0 over `maturityCommits`). */
  newNodeRateBps: number
  maturityCommits: number
  /** Added to a node's sampling rate per overturned receipt. */
  overturnedRateBps: number
  /** Ceiling of the adaptive rate. */
  maxRateBps: number
  /** Share of a batch's leaves that are decoys (forced errors). */
  decoyRateBps: number
  /** What the node pays the verifier that challenges a decoy, in fees. */
  decoyRewardFees: number
  /** Verifier stake slashed for attesting a decoy or an overturned receipt (once per batch), in fees. */
  attesterSlashFees: number
  /** Node stake slashed per overturned receipt (and reserved per open receipt), in fees. */
  receiptSlashFees: number
  /** Share of redeemed fees paid to attesters. */
  verifierShareBps: number
  /** Challenger's share of a slash. */
  bountyBps: number
  /** Bond of an execution challenge, in fees. */
  challengeBondFees: number
  /**
   * Bond of a data, availability or inclusion challenge, in fees: the node's gas to answer one
   * (`publishReceipt`), paid to it when it answers — answering a challenge it provoked earns nothing.
   */
  dataChallengeBondFees: number
  challengeWindow: number
  dataResponseTime: number
  /**
   * Not in the contract (a proposed rule, docs/economics.md "Pool capture"): `attest` counts only
   * bits in the verifier's own selection. Off, a verifier may attest any bitmap and is paid pro rata.
   */
  selectedBitsOnly?: boolean
}

/** Prices outside the protocol. */
export type Environment = {
  /** USD per million gas (an L2: ~0.01 gwei at ~3,000 USD/ETH ≈ 0.03). */
  usdPerMillionGas: number
  /** USD per CPU core-hour (cloud on-demand ~0.04). */
  usdPerCpuHour: number
  /** Fee = markup × (the node's compute + its settlement gas) per inference. */
  feeMarkup: number
  /** Real receipts per batch. */
  batchSize: number
  /** Annual cost of capital locked as stake. */
  capitalRatePerYear: number
  /** Seconds from a challenge to the dispute game's ruling. */
  disputeSeconds: number
  /**
   * Probability that an attestation with a wrong execution tag is refuted (docs/protocol.md,
   * "Execution tags"): the node's batcher audits every attestation's tags at finalize and earns the
   * bounty, so 1; lower values model nodes that do not run the audit.
   */
  tagPolicing: number
}

/** Gas per call, from docs/gas-report.md and docs/dispute-gas.md (measured on the embedded chain). */
export const GAS = {
  /** commitBatch + finalize of an older batch in one multicall (1,024 receipts). */
  commitAndFinalize: 159_366,
  /** redeem of all of a batch's clients' vouchers in one multicall, 16 clients (per batch). */
  redeemPerBatch: 811_291,
  /** attest under a sampled assignment, 2 leaves drawn with their execution tags (its cost grows with the leaves drawn; ~0.2 drawn per verifier at P0). */
  attest: 70_181,
  /** What the first attestation of a batch adds to store the batch's seed (`anchorSeed` less the transaction's base cost). */
  anchorSeed: 29_626,
  /** challenge: opens the dispute game. */
  challenge: 337_781,
  challengeData: 197_921,
  /** expireChallenge of a data challenge not answered: overturn, slash, refund, bounty. */
  expireData: 203_490,
  publishData: 187_368,
  /** publishReceipt: an availability challenge's answer (leaf, 11-element proof, request, 784-value input). */
  publishReceipt: 250_347,
  /** slashAttester, measured with a 1,024-receipt attestation's bitmap and tags as calldata (an upper bound at the defaults' few drawn leaves). */
  slashAttester: 356_050,
  /** refuteAttestation of a guessed tag: the attestation (1,024 tags, an upper bound), the receipt's proof and its outputs hashed on-chain. */
  refuteAttestation: 381_630,
  claim: 41_280,
  /** Conceding a decoy challenge (`DisputeGame.concede`): not measured by bench:gas; estimated as an expireChallenge-sized overturn. */
  decoyConcede: 120_000,
} as const

/** A model's measured cost and its worst dispute game (docs/dispute-gas.md). */
export type CostProfile = {
  model: string
  /** CPU ms of one re-execution (integer kernels + output hash). */
  cpuMsPerInference: number
  /** Gas of the whole dispute game (both sides), the model's worst op. */
  disputeGameGas: number
  description?: string
}

/** Worst dispute game gas per model (docs/dispute-gas.md); the language models' games are estimated at resnet50's. */
export const DISPUTE_GAME_GAS: Record<string, number> = {
  'mnist-8': 1_952_599,
  squeezenet: 3_363_913,
  resnet50: 3_670_768,
  stories260K: 3_670_768,
  'shakespeare-char': 3_670_768,
}

export const DEFAULT_ENVIRONMENT: Environment = {
  usdPerMillionGas: 0.03,
  usdPerCpuHour: 0.04,
  feeMarkup: 1.5,
  batchSize: 1024,
  capitalRatePerYear: 0.1,
  disputeSeconds: 1_200,
  tagPolicing: 1,
}

/**
 * What the contracts enforced at the devnet before issue 14: 3 verifiers each at 30 %, no decoys —
 * P = 47.37 %, at which Settlement's per-verifier rule q = P / ((1 − P)·V) gives each of 3 verifiers 30 %.
 */
export const LEGACY_PARAMS: ProtocolParams = {
  baseRateBps: 4_737,
  newNodeRateBps: 4_737,
  maturityCommits: 0,
  overturnedRateBps: 0,
  maxRateBps: 10_000,
  decoyRateBps: 0,
  decoyRewardFees: 0,
  attesterSlashFees: 1_000,
  receiptSlashFees: 100,
  verifierShareBps: 1_000,
  bountyBps: 5_000,
  challengeBondFees: 1_000,
  dataChallengeBondFees: 100,
  challengeWindow: 3_600,
  dataResponseTime: 600,
}

/** Money per inference of a profile in an environment (USD). */
export type UnitCosts = {
  /** The node's compute per inference = a verifier's per re-execution. */
  compute: number
  fee: number
  gasUsd: number
}

export function unitCosts(profile: CostProfile, env: Environment): UnitCosts {
  const compute = (profile.cpuMsPerInference / 3_600_000) * env.usdPerCpuHour
  const gasUsd = env.usdPerMillionGas / 1e6
  const nodeGas = (GAS.commitAndFinalize + GAS.redeemPerBatch) / env.batchSize
  return { compute, gasUsd, fee: env.feeMarkup * (compute + nodeGas * gasUsd) }
}
