import { describe, expect, it } from 'vitest'
import { DEFAULT_ENVIRONMENT, LEGACY_PARAMS } from './params.js'
import { renderSvg, renderTable, simReport } from './report.js'
import { type SimulationConfig, simulate } from './simulate.js'

const config: SimulationConfig = {
  seed: 5,
  params: { ...LEGACY_PARAMS, decoyRateBps: 200, decoyRewardFees: 100, attesterSlashFees: 1_000 },
  env: DEFAULT_ENVIRONMENT,
  profile: { model: 'tiny', cpuMsPerInference: 10, disputeGameGas: 1_000_000 },
  nodes: [{ kind: 'honest' }, { kind: 'honest' }, { kind: 'cheat', rate: 0.5, target: 'uniform' }],
  verifiers: ['honest', 'honest', 'lazy'],
  inferences: 3 * 2048,
  hours: 1,
}

describe('simReport', () => {
  const report = simReport(config, simulate(config))

  it('renders a readable table', () => {
    expect(renderTable(report)).toMatchInlineSnapshot(`
      "verity sim — tiny, seed 5: 6,144 inferences in 6 batches, 3 nodes, 3 verifiers, 1 h
      P0 47.37 %, decoys 2 %, receipt slash 100 fees, attester slash 1000 fees, decoy reward 100 fees, verifier share 10 %
      verification compute ÷ inference compute: 62.57 % on honest nodes, 62.42 % overall   gas per inference: 5804 on honest nodes, 73736 overall   honest verifier profit: -5.86 USD/h

      role      strategy             n   USD/h  EV vs honest USD/h  cheats  overturned     caught  latency s  slashes
      --------  -------------------  -  ------  ------------------  ------  ----------  ---------  ---------  -------
      node      honest               2  -0.150                0.00       0           0        0/0          —        0
      node      cheat uniform r=0.5  1   -2.28               -2.13    1001         516        1/1       2100      516
      verifier  honest               2   -5.86                0.00       0         516  64 decoys          —        0
      verifier  lazy                 1  -0.258                5.60       0           0   0 decoys          —        6"
    `)
  })

  it('renders the EV plot as an SVG with a bar per strategy', async () => {
    const svg = await renderSvg(report)
    expect(svg.startsWith('<svg')).toBe(true)
    for (const label of ['node: honest', 'node: cheat uniform r=0.5', 'verifier: honest', 'verifier: lazy']) expect(svg).toContain(label)
  })
})
