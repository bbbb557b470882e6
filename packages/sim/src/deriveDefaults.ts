import { perVerifierRate } from '@verity/node'
import { type Assumptions, cheatEvPerReceipt, DEFAULT_ASSUMPTIONS, detectionProbability, verifierEconomics } from './expectedValue.js'
import { type CostProfile, DEFAULT_ENVIRONMENT, type Environment, GAS, type ProtocolParams, unitCosts } from './params.js'

/** What the derived parameters must satisfy (docs/economics.md, "Derived defaults"). */
export type Requirements = {
  /** Safety margin: cheating must lose `margin` × what it gains; honest verifiers earn `margin` × their costs; a lazy verifier's best EV ≤ 0 even if paid `margin` × more. */
  margin: number
  assumptions: Assumptions
  /** Verification compute ÷ inference compute at the floor rate. */
  maxVerificationShare: number
  /** A node cheating at `cheatRate` with `receiptsPerHour` is caught within one window with at least `probability`. */
  detection: { cheatRate: number; receiptsPerHour: number; probability: number }
  /** Most a verifier may have to stake against one slash, in fees. */
  maxAttesterSlashFees: number
  env: Environment
  challengeWindow: number
  dataResponseTime: number
  bountyBps: number
}

export const DEFAULT_REQUIREMENTS: Requirements = {
  margin: 2,
  assumptions: DEFAULT_ASSUMPTIONS,
  maxVerificationShare: 0.03,
  detection: { cheatRate: 0.05, receiptsPerHour: 36_000, probability: 0.99 },
  maxAttesterSlashFees: 20_000,
  env: DEFAULT_ENVIRONMENT,
  challengeWindow: 3_600,
  dataResponseTime: 600,
  bountyBps: 5_000,
}

export const BASE_RATE_GRID_BPS = [10, 15, 20, 25, 30, 40, 50, 75, 100, 150, 200, 250] as const
export const DECOY_RATE_GRID_BPS = [10, 25, 50, 100, 200, 300] as const

export type Candidate = {
  params: ProtocolParams
  feasible: boolean
  /** Why not, when infeasible. */
  reason?: string
  /** Verification compute ÷ inference compute (re-executed leaves per real receipt). */
  verificationShare: number
  /** Cost of verification per inference in fees, summed over the profiles: compute, verifier gas, capital locked as stake. */
  costFees: number
  detectionProbability: number
}

/** Completes a (P0, decoy rate) pair into the cheapest parameters meeting every requirement for every profile. */
export function candidateFor(baseRateBps: number, decoyRateBps: number, profiles: readonly CostProfile[], req: Requirements): Candidate {
  const env = req.env
  const units = profiles.map((p) => unitCosts(p, env))
  const computeFees = Math.max(...units.map((u) => u.compute / u.fee))
  const base: ProtocolParams = {
    baseRateBps,
    newNodeRateBps: Math.min(10_000, 10 * baseRateBps),
    maturityCommits: 100,
    overturnedRateBps: Math.min(10_000, 10 * baseRateBps),
    maxRateBps: 5_000,
    decoyRateBps,
    decoyRewardFees: 0,
    attesterSlashFees: 0,
    receiptSlashFees: 0,
    verifierShareBps: 0,
    bountyBps: req.bountyBps,
    challengeBondFees: 0,
    dataChallengeBondFees: 0,
    challengeWindow: req.challengeWindow,
    dataResponseTime: req.dataResponseTime,
  }
  const a = req.assumptions
  const P = detectionProbability(base, a)
  // (a) cheating loses `margin` × its gain at every rate: P_eff (S + 1) ≥ margin (compute + external gain).
  // … and the challenger's bounty pays `margin` × its costs of a catch (challenge + its side of the game, or a data challenge).
  const catchCostFees = Math.max(
    ...profiles.map(
      (p, i) => (Math.max(GAS.challenge + p.disputeGameGas / 2, GAS.challengeData + GAS.expireData) * units[i]!.gasUsd) / units[i]!.fee,
    ),
  )
  const receiptSlashFees = Math.max(
    1,
    Math.ceil((req.margin * (computeFees + a.externalGainFees)) / P - 1),
    Math.ceil((req.margin * catchCostFees * 10_000) / req.bountyBps),
  )
  // Decoy reward: `margin` × what finding one costs the verifier (re-execution + the challenge), worst profile.
  const decoyRewardFees = Math.max(...units.map((u) => (req.margin * (u.compute + GAS.challenge * u.gasUsd)) / u.fee))
  // Challenge bond: `margin` × the node's side of the costliest dispute game, so false challenges cost the challenger.
  const challengeBondFees = Math.max(...profiles.map((p, i) => (req.margin * (p.disputeGameGas / 2) * units[i]!.gasUsd) / units[i]!.fee))
  // Data-challenge bond: the node's gas to answer one (`publishReceipt`), worst profile, rounded up —
  // not × margin: the bond goes to the node that answers, and answering must earn it nothing.
  const dataChallengeBondFees = Math.max(1, ...units.map((u) => Math.ceil((GAS.publishReceipt * u.gasUsd) / u.fee)))
  const params: ProtocolParams = {
    ...base,
    receiptSlashFees,
    decoyRewardFees: round(decoyRewardFees),
    challengeBondFees: round(challengeBondFees),
    dataChallengeBondFees,
  }
  // (b) honest verifiers earn `margin` × their costs: the smallest verifier share that does, for every profile.
  const pays = (bps: number) =>
    units.every((u) => {
      const e = verifierEconomics({ ...params, verifierShareBps: bps }, u, env, a)
      const costs = -verifierEconomics({ ...params, verifierShareBps: 0 }, u, env, a).honestPerBatch
      return e.honestPerBatch > 0 && e.honestPerBatch >= (req.margin - 1) * Math.max(0, costs)
    })
  // Monotone in the share: the smallest that pays, by bisection (0 when even 100 % does not).
  let verifierShareBps = 0
  if (pays(10_000)) {
    let lo = 0
    let hi = 10_000
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1
      if (pays(mid)) hi = mid
      else lo = mid
    }
    verifierShareBps = hi
  }
  params.verifierShareBps = verifierShareBps
  // (b) a lazy verifier's best EV ≤ 0 even paid `margin` × more: the smallest attester slash that does.
  let lo = 0
  let hi = 1e9
  for (let i = 0; i < 80; i++) {
    const mid = (lo + hi) / 2
    const ok = units.every(
      (u) =>
        verifierEconomics({ ...params, verifierShareBps: verifierShareBps * req.margin, attesterSlashFees: mid }, u, env, a)
          .lazyBestPerBatch <= 0,
    )
    if (ok) hi = mid
    else lo = mid
  }
  params.attesterSlashFees = Math.ceil(hi)
  const d = decoyRateBps / 10_000
  const q = perVerifierRate(baseRateBps / 10_000, a.verifiers)
  // Every verifier samples (a lazy one too); re-executions per real receipt, decoys included.
  const verificationShare = (a.verifiers * q) / (1 - d)
  const detection = 1 - (1 - P) ** (req.detection.cheatRate * req.detection.receiptsPerHour * (req.challengeWindow / 3600))
  const capitalPerSecond = req.env.capitalRatePerYear / (365 * 86_400)
  const costFees = units.reduce((sum, u) => {
    const attestProbability = Math.min(1, (q * env.batchSize) / (1 - d))
    const attestsPerReceipt = (a.verifiers * attestProbability) / env.batchSize
    const anchorsPerReceipt = (1 - (1 - attestProbability) ** a.verifiers) / env.batchSize
    const gas =
      attestsPerReceipt * GAS.attest + anchorsPerReceipt * GAS.anchorSeed + verificationShare * d * (GAS.challenge + GAS.decoyConcede)
    return sum + (verificationShare * u.compute + gas * u.gasUsd) / u.fee + (receiptSlashFees + 1) * req.challengeWindow * capitalPerSecond
  }, 0)
  const reason =
    verifierShareBps === 0
      ? 'no verifier share pays honest verifiers'
      : params.attesterSlashFees > req.maxAttesterSlashFees
        ? `attester slash ${params.attesterSlashFees} fees > ${req.maxAttesterSlashFees}`
        : verificationShare > req.maxVerificationShare
          ? `verification share ${(verificationShare * 100).toFixed(2)} % > ${req.maxVerificationShare * 100} %`
          : detection < req.detection.probability
            ? `a ${req.detection.cheatRate * 100} % cheater is caught within the window with probability ${detection.toFixed(3)} < ${req.detection.probability}`
            : cheatEvPerReceipt(params, computeFees, a) >= 0
              ? 'cheating pays'
              : undefined
  return {
    params,
    feasible: reason === undefined,
    ...(reason === undefined ? {} : { reason }),
    verificationShare,
    costFees,
    detectionProbability: detection,
  }
}

const round = (x: number) => Number(x.toPrecision(3))

/** Pure: every grid point, and the cheapest feasible one (the derived defaults). */
export function deriveDefaults(
  profiles: readonly CostProfile[],
  req: Requirements = DEFAULT_REQUIREMENTS,
): { best: Candidate; candidates: Candidate[] } {
  const candidates = BASE_RATE_GRID_BPS.flatMap((p) => DECOY_RATE_GRID_BPS.map((d) => candidateFor(p, d, profiles, req)))
  const feasible = candidates.filter((c) => c.feasible).sort((x, y) => x.costFees - y.costFees)
  const best = feasible[0]
  if (!best) throw new Error('no parameters on the grid meet the requirements')
  return { best, candidates }
}

/** Whether `params` lies in the derived region: every parameter at least as protective as `derived`, the verifier share within [derived, margin × derived]. */
export function inDerivedRegion(params: ProtocolParams, derived: ProtocolParams, margin = DEFAULT_REQUIREMENTS.margin): boolean {
  return (
    params.baseRateBps >= derived.baseRateBps &&
    params.decoyRateBps >= derived.decoyRateBps &&
    params.receiptSlashFees >= derived.receiptSlashFees &&
    params.attesterSlashFees >= derived.attesterSlashFees &&
    params.decoyRewardFees >= derived.decoyRewardFees &&
    params.verifierShareBps >= derived.verifierShareBps &&
    params.verifierShareBps <= margin * derived.verifierShareBps
  )
}
