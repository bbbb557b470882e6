import { DERIVED_DEFAULTS } from '@verity/chain'
import { describe, expect, it } from 'vitest'
import { DEFAULT_REQUIREMENTS, deriveDefaults, inDerivedRegion } from './deriveDefaults.js'
import { computeFeesOf, strategyEvPerHour, verifierEconomics } from './expectedValue.js'
import { type ProtocolParams, unitCosts } from './params.js'
import { loadCostProfiles } from './profiles.js'
import { createRandom } from './random.js'
import type { NodeStrategy } from './strategies.js'

const { profiles } = loadCostProfiles()
const req = DEFAULT_REQUIREMENTS
const { best, candidates } = deriveDefaults(profiles, req)
const derived = best.params
const a = req.assumptions
const env = req.env

const strategies = (r: number): NodeStrategy[] => [
  { kind: 'cheat', rate: r, target: 'uniform' },
  { kind: 'cheat', rate: r, target: 'client' },
  { kind: 'cheat', rate: r, target: 'inputs', externalGainFees: 0 },
  { kind: 'withhold', rate: r },
  { kind: 'pastStake', rate: r, stakeCoverage: 0.5 },
  { kind: 'collude', rate: r },
]

/** The largest EV per hour of any cheating strategy at any of `rates`, over every profile (fees). */
function worstCheatEv(params: ProtocolParams, rates: readonly number[]): number {
  let worst = Number.NEGATIVE_INFINITY
  for (const p of profiles) {
    const c = computeFeesOf(p, env)
    for (const r of rates) for (const s of strategies(r)) worst = Math.max(worst, strategyEvPerHour(s, params, c, a, 36_000))
  }
  return worst
}

describe('deriveDefaults', () => {
  it('finds the cheapest feasible grid point, meeting every requirement for every measured profile', () => {
    expect(best.feasible).toBe(true)
    expect(candidates.filter((c) => c.feasible).every((c) => c.costFees >= best.costFees)).toBe(true)
    expect(best.verificationShare).toBeLessThanOrEqual(req.maxVerificationShare)
    expect(best.detectionProbability).toBeGreaterThanOrEqual(req.detection.probability)
    for (const p of profiles) {
      const u = unitCosts(p, env)
      const e = verifierEconomics(derived, u, env, a)
      expect(e.honestPerBatch, p.model).toBeGreaterThan(0)
      expect(
        verifierEconomics({ ...derived, verifierShareBps: derived.verifierShareBps * req.margin }, u, env, a).lazyBestPerBatch,
        p.model,
      ).toBeLessThanOrEqual(0)
    }
    // (a) with the margin: at r = 1 cheating loses at least (margin − 1) × what it saves.
    const worst = Math.max(
      ...profiles.map(
        (p) =>
          strategyEvPerHour({ kind: 'cheat', rate: 1, target: 'uniform' }, derived, computeFeesOf(p, env), a, 1) / computeFeesOf(p, env),
      ),
    )
    expect(worst).toBeLessThanOrEqual(-(req.margin - 1) + 1e-9)
    expect(deriveDefaults(profiles, req).best).toEqual(best)
  })

  it('is what @verity/chain exports as DERIVED_DEFAULTS (the deployment and devnet read that)', () => {
    expect({ ...DERIVED_DEFAULTS }).toEqual(derived)
  })

  it('property: cheating EV < 0 at every r and strategy, and a lazy verifier EV ≤ 0, for random parameters inside the derived region', () => {
    const rand = createRandom(14)
    const up = (x: number, max = 3) => x * (1 + rand.next() * (max - 1))
    for (let i = 0; i < 200; i++) {
      const params: ProtocolParams = {
        ...derived,
        baseRateBps: Math.round(up(derived.baseRateBps)),
        decoyRateBps: Math.min(3_000, Math.round(up(derived.decoyRateBps))),
        receiptSlashFees: Math.round(up(derived.receiptSlashFees)),
        attesterSlashFees: Math.round(up(derived.attesterSlashFees)),
        decoyRewardFees: up(derived.decoyRewardFees),
        verifierShareBps: Math.round(derived.verifierShareBps * (1 + rand.next() * (req.margin - 1))),
      }
      expect(inDerivedRegion(params, derived)).toBe(true)
      const rates = [rand.next() || 1e-3, rand.next(), 1]
      expect(worstCheatEv(params, rates), JSON.stringify(params)).toBeLessThan(0)
      for (const p of profiles) expect(verifierEconomics(params, unitCosts(p, env), env, a).lazyBestPerBatch).toBeLessThanOrEqual(0)
    }
  })

  it('property: somewhere outside the region cheating pays (so the property above can fail)', () => {
    const rand = createRandom(15)
    let found = 0
    for (let i = 0; i < 200; i++) {
      const params: ProtocolParams = {
        ...derived,
        baseRateBps: 1 + rand.int(derived.baseRateBps),
        receiptSlashFees: 1 + rand.int(derived.receiptSlashFees),
      }
      expect(inDerivedRegion(params, derived)).toBe(
        params.baseRateBps >= derived.baseRateBps && params.receiptSlashFees >= derived.receiptSlashFees,
      )
      if (worstCheatEv(params, [0.05, 1]) >= 0) found++
    }
    expect(found).toBeGreaterThan(0)
  })
})

describe('careful lazy verifier (re-executes nothing, tells decoys apart) at the derived defaults', () => {
  it('takes about an honest verifier’s pay (a fifth of its take before assignment), at the risk of cheats', () => {
    for (const p of profiles) {
      const u = unitCosts(p, env)
      const e = verifierEconomics(derived, u, env, a)
      // No longer a free rider on every batch: paid only where assigned, as an honest verifier is.
      expect(e.carefulLazyPerBatch, p.model).toBeLessThan(e.carefulLazyUnassignedPerBatch / 2)
      // About an honest verifier's EV: it saves the compute of its real receipts (tiny against gas) and
      // harvests the decoys it tells apart unexecuted — not deterred at zero fraud (docs/economics.md).
      expect(Math.abs(e.carefulLazyPerBatch - e.honestPerBatch) / e.honestPerBatch, p.model).toBeLessThan(0.02)
      expect(e.carefulLazyBreakEvenCheatRate, p.model).toBeGreaterThan(0)
    }
  })

  it('loses under execution tags: each real receipt it attests carries a tag it can only guess', () => {
    for (const p of profiles) {
      const u = unitCosts(p, env)
      const e = verifierEconomics(derived, u, env, a)
      // Every attestation audited (the node's batcher does it): it loses about the attester slash each time.
      expect(e.carefulLazyTaggedPerBatch, p.model).toBeLessThan(0)
      expect(e.lazyTaggedPerBatch, p.model).toBeLessThan(0)
      // Even if only one attestation in ten were audited, it would lose against an honest verifier.
      const sparse = verifierEconomics(derived, u, { ...env, tagPolicing: 0.1 }, a)
      expect(sparse.carefulLazyTaggedPerBatch, p.model).toBeLessThan(0)
      // Without any audit it is the verifier above.
      const none = verifierEconomics(derived, u, { ...env, tagPolicing: 0 }, a)
      expect(none.carefulLazyTaggedPerBatch, p.model).toBeCloseTo(none.carefulLazyPerBatch, 9)
    }
  })
})

describe('derivedDeploymentParams', () => {
  it('turns the fee multiples into deployment amounts and a sampling policy for a given fee', async () => {
    const { derivedDeploymentParams } = await import('@verity/chain')
    const { samplingRate } = await import('@verity/node')
    const fee = 10n ** 16n
    const d = derivedDeploymentParams(fee)
    expect(d.params).toEqual({
      slashAmount: 5_694n * fee,
      attesterSlash: 16_432n * fee,
      challengeBond: 2_400n * fee,
      dataChallengeBond: 177n * fee,
      verifierShareBps: 4_255,
      bountyBps: 5_000,
      challengeWindow: 3_600,
      dataResponseTime: 600,
    })
    expect(d.decoyReward).toBe(475n * fee)
    expect(samplingRate({ stake: 10n ** 30n, openReceipts: 10, commits: 1_000, overturned: 0 }, d.sampling)).toBe(0.004)
    expect(samplingRate({ stake: 10n ** 30n, openReceipts: 10, commits: 0, overturned: 0 }, d.sampling)).toBe(0.04)
  })
})
