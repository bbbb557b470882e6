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
      verification compute ÷ inference compute: 52.34 % on honest nodes, 52.83 % overall   gas per inference: 5330 on honest nodes, 69022 overall   honest verifier profit: -5.49 USD/h

      role      strategy             n   USD/h  EV vs honest USD/h  cheats  overturned     caught  latency s  slashes
      --------  -------------------  -  ------  ------------------  ------  ----------  ---------  ---------  -------
      node      honest               2  -0.114                0.00       0           0        0/0          —        0
      node      cheat uniform r=0.5  1   -2.14               -2.03    1005         466        1/1       2100      466
      verifier  honest               2   -5.49                0.00       0         466  53 decoys          —        0
      verifier  lazy                 1  -0.271                5.21       0           0   0 decoys          —        6"
    `)
  })

  it('renders the EV plot as an SVG with a bar per strategy', async () => {
    const svg = await renderSvg(report)
    expect(svg.startsWith('<svg')).toBe(true)
    for (const label of ['node: honest', 'node: cheat uniform r=0.5', 'verifier: honest', 'verifier: lazy']) expect(svg).toContain(label)
  })
})
