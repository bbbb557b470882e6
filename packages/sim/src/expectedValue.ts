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
  /** Pay per attested receipt, fees. */
  payPerBit: number
  /** Honest verifier: net per receipt it re-executes (pay, decoy rewards − compute, gas), fees. */
  honestPerExecution: number
  /** Lazy verifier's best EV per batch over how many receipts it attests (1 … all), fees; ≤ 0 is required. */
  lazyBestPerBatch: number
  /** Honest verifier's EV per batch, fees. */
  honestPerBatch: number
}

/**
 * The verifier's side at zero fraud: the batch's pool (verifierShareBps × n fees) is split pro rata
 * to attested receipts; each verifier samples each leaf at q. A lazy verifier attesting k leaves
 * unexecuted is paid only if none is a decoy, and slashed attesterSlash otherwise.
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
  const honestBits = a.verifiers * q * n
  const payPerBit = pool / Math.max(honestBits, 1e-12)
  const sampled = q * leaves
  const attestProbability = 1 - (1 - q) ** n
  const decoysSampled = q * leaves * d
  const honestPerBatch =
    q * n * payPerBit -
    attestProbability * GAS.attest * gasFees -
    sampled * computeFees +
    decoysSampled * (params.decoyRewardFees - GAS.challenge * gasFees)
  const honestPerExecution = sampled > 0 ? honestPerBatch / sampled : 0
  let lazyBest = Number.NEGATIVE_INFINITY
  for (let k = 1; k <= Math.ceil(leaves); k = k < 64 ? k + 1 : Math.ceil(k * 1.25)) {
    const clean = (1 - d) ** k
    const pay = (pool * k) / (honestBits + k)
    const ev = clean * pay - GAS.attest * gasFees - (1 - clean) * params.attesterSlashFees
    if (ev > lazyBest) lazyBest = ev
  }
  return { payPerBit, honestPerExecution, lazyBestPerBatch: lazyBest, honestPerBatch }
}

/** Fees per unit of money in the simulation. */
export const feesOf = (money: bigint): number => Number(money) / Number(UNITS_PER_FEE)

/** The compute saved by a cheat, in fees, for a profile. */
export function computeFeesOf(profile: CostProfile, env: Environment): number {
  const u = unitCosts(profile, env)
  return u.compute / u.fee
}
