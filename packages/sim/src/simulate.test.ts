import { describe, expect, it } from 'vitest'
import { DEFAULT_ASSUMPTIONS, detectionProbability, strategyEvPerHour } from './expectedValue.js'
import { type CostProfile, DEFAULT_ENVIRONMENT, type ProtocolParams, unitCosts } from './params.js'
import { defaultPopulation } from './population.js'
import { simReport } from './report.js'
import { type SimulationConfig, simulate } from './simulate.js'

const profile: CostProfile = { model: 'test-model', cpuMsPerInference: 500, disputeGameGas: 2_000_000 }
const params: ProtocolParams = {
  baseRateBps: 100,
  newNodeRateBps: 100,
  maturityCommits: 0,
  overturnedRateBps: 0,
  maxRateBps: 5_000,
  decoyRateBps: 100,
  decoyRewardFees: 500,
  attesterSlashFees: 10_000,
  receiptSlashFees: 6_000,
  verifierShareBps: 3_000,
  bountyBps: 5_000,
  challengeBondFees: 2_500,
  dataChallengeBondFees: 100,
  challengeWindow: 3_600,
  dataResponseTime: 600,
}
const config = (over: Partial<SimulationConfig> = {}): SimulationConfig => ({
  seed: 11,
  params,
  env: DEFAULT_ENVIRONMENT,
  profile,
  ...defaultPopulation(100, 24),
  inferences: 1_000_000,
  hours: 6,
  ...over,
})

describe('simulate', () => {
  it('is reproducible: the same seed gives the same run, another seed another', () => {
    const a = simulate(config())
    expect(simulate(config())).toEqual(a)
    expect(simulate(config({ seed: 12 })).nodes.map((n) => n.profitUsd)).not.toEqual(a.nodes.map((n) => n.profitUsd))
    expect(a.inferences).toBeGreaterThanOrEqual(990_000)
  })

  it('agrees with the closed-form EV of cheating (all verifiers honest, fixed rate)', () => {
    const run = simulate(
      config({
        nodes: [
          ...Array.from({ length: 20 }, () => ({ kind: 'honest' }) as const),
          ...Array.from({ length: 20 }, () => ({ kind: 'cheat', rate: 0.2, target: 'uniform' }) as const),
        ],
        verifiers: Array.from({ length: 20 }, () => 'honest' as const),
        inferences: 4_000_000,
      }),
    )
    const report = simReport(config(), run)
    const simulated = report.rows.find((r) => r.strategy === 'cheat uniform r=0.2')!.evVsHonestPerHourUsd
    const unit = unitCosts(profile, DEFAULT_ENVIRONMENT)
    const receiptsPerHour = 4_000_000 / 40 / 6
    const a = { ...DEFAULT_ASSUMPTIONS, verifiers: 20, dishonestShare: 0 }
    const expected =
      strategyEvPerHour({ kind: 'cheat', rate: 0.2, target: 'uniform' }, params, unit.compute / unit.fee, a, receiptsPerHour) * unit.fee
    // Settlement's per-verifier rule q = P / ((1 − P)·V): detection ≥ P, and below P / (1 − P).
    expect(detectionProbability(params, a)).toBeGreaterThanOrEqual(0.01)
    expect(detectionProbability(params, a)).toBeLessThan(0.01 / 0.99)
    expect(expected).toBeLessThan(0)
    // The simulation also charges decoy rewards and refunds the same way for both; the difference is the cheats'.
    expect(Math.abs(simulated - expected) / Math.abs(expected)).toBeLessThan(0.1)
  })

  it('at protective parameters no node strategy beats honest, lazy and false challenging lose, the exposure rule refuses a node past its stake', () => {
    const run = simulate(config())
    const report = simReport(config(), run)
    // Rare cheats (r = 0.01) are caught a handful of times in a run this short, so their sampled EV is
    // noise around the closed form; deriveDefaults.test checks EV < 0 for every r in closed form.
    const rare = (strategy: string) => /r=0\.0[0-4]/.test(strategy)
    for (const row of report.rows.filter((r) => r.strategy !== 'honest' && r.strategy !== 'colluding' && !rare(r.strategy))) {
      expect(row.evVsHonestPerHourUsd, row.strategy).toBeLessThan(0)
    }
    // The colluding pair together: the nodes' loss outweighs what the verifier captures of their pools.
    const pair = report.rows.filter((r) => r.strategy.startsWith('cheat+collude') || r.strategy === 'colluding')
    expect(pair.reduce((a, r) => a + r.evVsHonestPerHourUsd * r.count, 0)).toBeLessThan(0)
    expect(report.rows.find((r) => r.role === 'verifier' && r.strategy === 'honest')!.profitPerHourUsd).toBeGreaterThan(0)
    expect(report.rows.find((r) => r.strategy === 'lazy')!.profitPerHourUsd).toBeLessThan(0)
    // The careful lazy verifier (tells decoys apart, re-executes nothing) must attest its whole
    // assignment: the cheats in it, caught by others, slash it — rarely in a run this short (0 or 1
    // slashes of 10,000 fees: its profit is −0.08 to +0.02 USD/h over seeds 11–13, the honest
    // verifiers' +0.61 to +0.66), so it is dominated by honest work but not driven below zero while
    // it can tell decoys apart (docs/economics.md, "What is left").
    expect(report.rows.find((r) => r.strategy === 'carefulLazy')!.evVsHonestPerHourUsd).toBeLessThan(0)
    expect(run.nodes.filter((n) => n.strategy.startsWith('cheat past stake')).every((n) => n.refusedBatches > 0)).toBe(true)
    expect(run.nodes.filter((n) => n.strategy === 'honest').every((n) => n.refusedBatches === 0 && n.overturned === 0)).toBe(true)
    expect(run.honestVerificationShare).toBeLessThan(0.03)
  })

  it('lets cheating pay when the sampling rate and slash are too low (the test can fail)', () => {
    const weak = { ...params, baseRateBps: 10, newNodeRateBps: 10, receiptSlashFees: 5, decoyRateBps: 0 }
    const honest = { verifiers: Array.from({ length: 24 }, () => 'honest' as const) }
    const run = simulate(config({ params: weak, ...honest }))
    const report = simReport(config({ params: weak, ...honest }), run)
    expect(report.rows.find((r) => r.strategy === 'cheat uniform r=1')!.evVsHonestPerHourUsd).toBeGreaterThan(0)
  })

  it('pool capture: with equal shares (as Settlement pays) a verifier colluding with an honest node, attesting every receipt it is told is real, earns no more than an honest one', () => {
    const population = {
      nodes: [{ kind: 'collude', rate: 0 } as const, ...Array.from({ length: 9 }, () => ({ kind: 'honest' }) as const)],
      verifiers: [...Array.from({ length: 19 }, () => 'honest' as const), 'colluding' as const],
      inferences: 400_000,
    }
    const captured = simReport(config(population), simulate(config(population)))
    const fixed = simReport(
      config({ ...population, params: { ...params, selectedBitsOnly: true } }),
      simulate(config({ ...population, params: { ...params, selectedBitsOnly: true } })),
    )
    const ev = (r: typeof captured) => r.rows.find((x) => x.strategy === 'colluding')!.evVsHonestPerHourUsd
    // Equal shares: the colluder's many bits buy nothing more than an honest verifier's share, and it
    // misses the decoy rewards honest verifiers earn. (Pro-rata pay would let it take most of the pool.)
    expect(ev(captured)).toBeLessThan(0)
    expect(ev(fixed)).toBeLessThan(0)
  })
})
