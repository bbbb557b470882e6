import { perVerifierRate, samplingRate } from '@verity/node'
import { type CostProfile, type Environment, GAS, type ProtocolParams, unitCosts } from './params.js'
import { policyOf, UNITS_PER_FEE } from './simulate.js'
import type { NodeStrategy } from './strategies.js'

/**
 * Closed-form expected values of the rules `simulate` plays out (docs/economics.md, "Equations"),
 * in fees per receipt, for a mature node at its floor rate. `dishonestShare` of the verifiers do not
 * check (lazy or colluding): detection comes from the rest only.
 */
export type Assumptions = {
  verifiers: number
  /** Share of verifiers that never challenge (lazy or colluding). */
  dishonestShare: number
  /** Value a cheat brings the node beyond the compute it saves, in fees (a chosen-input cheat). */
  externalGainFees: number
}

export const DEFAULT_ASSUMPTIONS: Assumptions = { verifiers: 20, dishonestShare: 1 / 3, externalGainFees: 0 }

/** P_eff: the probability that a receipt is re-executed by at least one checking verifier. */
export function detectionProbability(params: ProtocolParams, a: Assumptions): number {
  const P = samplingRate({ stake: 1n, openReceipts: 0, commits: params.maturityCommits, overturned: 0 }, policyOf(params))
  const q = perVerifierRate(P, a.verifiers)
  const checking = Math.max(1, Math.floor(a.verifiers * (1 - a.dishonestShare)))
  return 1 - (1 - q) ** checking
}

/**
 * EV of cheating on one receipt relative to computing it, in fees: the compute saved (plus any
 * external gain) against P_eff × (receipt slash + the fee given back). The same for every target
 * (uniform, one client, chosen inputs: sampling does not depend on the receipt), for withholding
 * (a data challenge overturns it the same way) and past the stake (`commitBatch` refuses the
 * excess): linear in the number of cheats, so EV(r) = r × n × this for every r ∈ (0, 1].
 */
export function cheatEvPerReceipt(params: ProtocolParams, computeFees: number, a: Assumptions): number {
  const P = detectionProbability(params, a)
  return computeFees + a.externalGainFees - P * (params.receiptSlashFees + 1)
}

/** EV of a node strategy per hour relative to honest, in fees, at `receiptsPerHour`. */
export function strategyEvPerHour(
  strategy: NodeStrategy,
  params: ProtocolParams,
  computeFees: number,
  a: Assumptions,
  receiptsPerHour: number,
): number {
  if (strategy.kind === 'honest') return 0
  const gain = strategy.kind === 'cheat' && strategy.target === 'inputs' ? (strategy.externalGainFees ?? 0) : 0
  return strategy.rate * receiptsPerHour * cheatEvPerReceipt(params, computeFees, { ...a, externalGainFees: a.externalGainFees + gain })
}

export type VerifierEconomics = {
  /** Expected pay of one attestation of an honest verifier (its equal share of the batch's pool), fees. */
  payPerAttestation: number
  /** Honest verifier: net per receipt it re-executes (pay, decoy rewards − compute, gas), fees. */
  honestPerExecution: number
  /**
   * A lazy verifier that cannot tell decoys from receipts: its best EV per batch over how many
   * leaves it attests unexecuted (the pay is one equal share whatever the count, so one leaf is
   * best), fees; ≤ 0 is required. One that can tell them apart is not bounded by any slash
   * (docs/economics.md, "What is left").
   */
  lazyBestPerBatch: number
  /**
   * A careful lazy verifier (re-executes nothing, tells decoys apart) at zero fraud: Settlement makes
   * it attest its whole assignment but for the leaves it challenged, so it challenges the decoys it
   * tells apart (earning their rewards) and attests the real receipts unexecuted — per batch, fees:
   * an honest verifier's EV plus the compute it saves, at the risk of the cheats in its assignment.
   */
  carefulLazyPerBatch: number
  /** The same verifier before assignment was enforced (any bitmap paid a full share): one share every batch, fees. */
  carefulLazyUnassignedPerBatch: number
  /**
   * The careful lazy verifier under execution tags (docs/protocol.md): each tag it sends for a real
   * receipt is a guess, refuted with probability `tagPolicing` (its attestation then unpaid and slashed
   * A) — per batch, fees. `carefulLazyPerBatch` is the same verifier where no node audits tags.
   */
  carefulLazyTaggedPerBatch: number
  /** The lazy verifier that attests one leaf unexecuted, under execution tags, fees per batch. */
  lazyTaggedPerBatch: number
  /**
   * The network cheat rate ρ above which the careful lazy verifier loses money outright: each real
   * receipt it attests unexecuted is a cheat with probability ρ, overturned with probability P_eff
   * (the other verifiers' detection), and costs it A — ρ* = carefulLazyPerBatch / (E[receipts it
   * attests] · P_eff · A).
   */
  carefulLazyBreakEvenCheatRate: number
  /** Honest verifier's EV per batch, fees. */
  honestPerBatch: number
}

/** E[1 / (1 + X)] for X ~ Binomial(n, p): an attester's equal share when each of n others attests with probability p. */
export function expectedShare(n: number, p: number): number {
  if (p <= 0) return 1
  return (1 - (1 - p) ** (n + 1)) / ((n + 1) * p)
}

/**
 * The verifier's side at zero fraud, under Settlement's rule: the batch's pool (verifierShareBps ×
 * n fees) is split in equal shares among the verifiers that attested any of its leaves; each
 * verifier samples each leaf at q and attests when its sample is not empty. A lazy verifier
 * attesting k leaves unexecuted is paid one share only if none is a decoy, and slashed
 * attesterSlash otherwise.
 */
export function verifierEconomics(
  params: ProtocolParams,
  unit: { compute: number; fee: number; gasUsd: number },
  env: Environment,
  a: Assumptions,
): VerifierEconomics {
  const n = env.batchSize
  const d = params.decoyRateBps / 10_000
  const leaves = n / (1 - d)
  const P = samplingRate({ stake: 1n, openReceipts: 0, commits: params.maturityCommits, overturned: 0 }, policyOf(params))
  const q = perVerifierRate(P, a.verifiers)
  const gasFees = unit.gasUsd / unit.fee
  const computeFees = unit.compute / unit.fee
  const pool = (params.verifierShareBps / 10_000) * n
  // Settlement draws λ = q · leaves leaves per verifier, rounded at random (`selectionDraws`): it has
  // something to attest with probability min(1, λ) (λ ≥ 1: at least floor(λ) ≥ 1 draws).
  const lambda = q * leaves
  const attestProbability = Math.min(1, lambda)
  const firstShare = expectedShare(a.verifiers - 1, attestProbability)
  const payPerAttestation = pool * firstShare
  const sampled = q * leaves
  const decoysSampled = q * leaves * d
  const honestPerBatch =
    // The first attestation of a batch also stores its seed: one of the k attesters, 1/k of the time.
    attestProbability * (payPerAttestation - (GAS.attest + GAS.anchorSeed * firstShare) * gasFees) -
    sampled * computeFees +
    decoysSampled * (params.decoyRewardFees - GAS.challenge * gasFees)
  const honestPerExecution = sampled > 0 ? honestPerBatch / sampled : 0
  // One share whatever the count: the fewest leaves (one) carry the least risk of a decoy.
  const lazyShare = pool * expectedShare(a.verifiers, attestProbability)
  const lazyBest = (1 - d) * lazyShare - GAS.attest * gasFees - d * params.attesterSlashFees
  // Careful lazy: attests when its assignment holds ≥ 1 real receipt, challenges the decoys in it.
  const attestsCarefully = Math.min(1, q * n)
  const carefulLazyPerBatch =
    attestsCarefully * (payPerAttestation - (GAS.attest + GAS.anchorSeed * firstShare) * gasFees) +
    decoysSampled * (params.decoyRewardFees - GAS.challenge * gasFees)
  const carefulLazyUnassignedPerBatch =
    lazyShare - GAS.attest * gasFees + decoysSampled * (params.decoyRewardFees - GAS.challenge * gasFees)
  // Under execution tags: every real receipt attested unexecuted carries a guessed tag, refuted (the
  // attestation unpaid, A slashed) with probability π; an attestation is refuted once whatever it holds.
  const refuted = env.tagPolicing
  const carefulLazyTaggedPerBatch =
    attestsCarefully *
      ((1 - refuted) * payPerAttestation - (GAS.attest + GAS.anchorSeed * firstShare) * gasFees - refuted * params.attesterSlashFees) +
    decoysSampled * (params.decoyRewardFees - GAS.challenge * gasFees)
  const lazyTaggedPerBatch =
    (1 - d) * ((1 - refuted) * lazyShare - refuted * params.attesterSlashFees) - GAS.attest * gasFees - d * params.attesterSlashFees
  const attestedReceipts = q * n
  const carefulLazyBreakEvenCheatRate =
    carefulLazyPerBatch <= 0 ? 0 : carefulLazyPerBatch / (attestedReceipts * detectionProbability(params, a) * params.attesterSlashFees)
  return {
    payPerAttestation,
    honestPerExecution,
    lazyBestPerBatch: lazyBest,
    carefulLazyPerBatch,
    carefulLazyUnassignedPerBatch,
    carefulLazyTaggedPerBatch,
    lazyTaggedPerBatch,
    carefulLazyBreakEvenCheatRate,
    honestPerBatch,
  }
}

/** Fees per unit of money in the simulation. */
export const feesOf = (money: bigint): number => Number(money) / Number(UNITS_PER_FEE)

/** The compute saved by a cheat, in fees, for a profile. */
export function computeFeesOf(profile: CostProfile, env: Environment): number {
  const u = unitCosts(profile, env)
  return u.compute / u.fee
}
