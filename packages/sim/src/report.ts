import { parse, View } from 'vega'
import type { ProtocolParams } from './params.js'
import type { SimulationConfig, SimulationResult } from './simulate.js'

export type StrategyRow = {
  role: 'node' | 'verifier'
  strategy: string
  count: number
  /** Mean net USD per hour of one actor. */
  profitPerHourUsd: number
  /** The same minus an honest actor's of the same role: what deviating earns (< 0: it does not pay). */
  evVsHonestPerHourUsd: number
  cheats: number
  overturned: number
  /** Median seconds from the first cheat to the first overturned receipt, over the actors caught. */
  detectionLatencySeconds: number | null
  caught: string
  slashes: number
}

export type SimReport = {
  model: string
  seed: number
  inferences: number
  batches: number
  nodes: number
  verifiers: number
  hours: number
  params: ProtocolParams
  verificationShare: number
  honestVerificationShare: number
  honestGasPerInference: number
  gasPerInference: number
  honestVerifierProfitPerHourUsd: number
  rows: StrategyRow[]
}

const mean = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length)
const median = (xs: number[]) => (xs.length === 0 ? null : [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!)

/** Pure: the per-strategy summary of a run. */
export function simReport(config: SimulationConfig, result: SimulationResult): SimReport {
  const rows: StrategyRow[] = []
  const honestNode = mean(result.nodes.filter((n) => n.strategy === 'honest').map((n) => n.profitPerHourUsd))
  const honestVerifier = mean(result.verifiers.filter((v) => v.strategy === 'honest').map((v) => v.profitPerHourUsd))
  for (const strategy of [...new Set(result.nodes.map((n) => n.strategy))]) {
    const group = result.nodes.filter((n) => n.strategy === strategy)
    const profit = mean(group.map((n) => n.profitPerHourUsd))
    const latencies = group.flatMap((n) => (n.detectionLatency === null ? [] : [n.detectionLatency]))
    rows.push({
      role: 'node',
      strategy,
      count: group.length,
      profitPerHourUsd: profit,
      evVsHonestPerHourUsd: profit - honestNode,
      cheats: group.reduce((a, n) => a + n.cheats, 0),
      overturned: group.reduce((a, n) => a + n.overturned, 0),
      detectionLatencySeconds: median(latencies),
      caught: `${group.filter((n) => n.overturned > 0).length}/${group.filter((n) => n.cheats > 0).length}`,
      slashes: group.reduce((a, n) => a + n.overturned, 0),
    })
  }
  for (const strategy of [...new Set(result.verifiers.map((v) => v.strategy))]) {
    const group = result.verifiers.filter((v) => v.strategy === strategy)
    const profit = mean(group.map((v) => v.profitPerHourUsd))
    rows.push({
      role: 'verifier',
      strategy,
      count: group.length,
      profitPerHourUsd: profit,
      evVsHonestPerHourUsd: profit - honestVerifier,
      cheats: 0,
      overturned: group.reduce((a, v) => a + v.cheatsCaught, 0),
      detectionLatencySeconds: null,
      caught: `${group.reduce((a, v) => a + v.decoysCaught, 0)} decoys`,
      slashes: group.reduce((a, v) => a + v.slashes, 0),
    })
  }
  return {
    model: config.profile.model,
    seed: config.seed,
    inferences: result.inferences,
    batches: result.batches,
    nodes: config.nodes.length,
    verifiers: config.verifiers.length,
    hours: config.hours,
    params: config.params,
    verificationShare: result.verificationShare,
    honestVerificationShare: result.honestVerificationShare,
    honestGasPerInference: result.honestGasPerInference,
    gasPerInference: result.gasPerInference,
    honestVerifierProfitPerHourUsd: honestVerifier,
    rows,
  }
}

const usd = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3))

/** Pure: the report as a readable text table. */
export function renderTable(report: SimReport): string {
  const head = [
    `verity sim — ${report.model}, seed ${report.seed}: ${report.inferences.toLocaleString('en-US')} inferences in ${report.batches.toLocaleString('en-US')} batches, ${report.nodes} nodes, ${report.verifiers} verifiers, ${report.hours} h`,
    `P0 ${report.params.baseRateBps / 100} %, decoys ${report.params.decoyRateBps / 100} %, receipt slash ${report.params.receiptSlashFees} fees, attester slash ${report.params.attesterSlashFees} fees, decoy reward ${report.params.decoyRewardFees} fees, verifier share ${report.params.verifierShareBps / 100} %`,
    `verification compute ÷ inference compute: ${(report.honestVerificationShare * 100).toFixed(2)} % on honest nodes, ${(report.verificationShare * 100).toFixed(2)} % overall   gas per inference: ${report.honestGasPerInference.toFixed(0)} on honest nodes, ${report.gasPerInference.toFixed(0)} overall   honest verifier profit: ${usd(report.honestVerifierProfitPerHourUsd)} USD/h`,
    '',
  ]
  const cols = ['role', 'strategy', 'n', 'USD/h', 'EV vs honest USD/h', 'cheats', 'overturned', 'caught', 'latency s', 'slashes']
  const body = report.rows.map((r) => [
    r.role,
    r.strategy,
    String(r.count),
    usd(r.profitPerHourUsd),
    usd(r.evVsHonestPerHourUsd),
    String(r.cheats),
    String(r.overturned),
    r.caught,
    r.detectionLatencySeconds === null ? '—' : r.detectionLatencySeconds.toFixed(0),
    String(r.slashes),
  ])
  const widths = cols.map((c, i) => Math.max(c.length, ...body.map((row) => row[i]!.length)))
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  return [...head, line(cols), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n')
}

/** Renders the EV of each strategy per hour (relative to honest) as an SVG bar chart, with the run's figures as subtitle (Vega). */
export async function renderSvg(report: SimReport): Promise<string> {
  const values = report.rows.map((r) => ({ label: `${r.role}: ${r.strategy}`, ev: r.evVsHonestPerHourUsd, role: r.role }))
  const spec = {
    $schema: 'https://vega.github.io/schema/vega/v6.json',
    width: 560,
    height: 16 * values.length,
    padding: 8,
    title: {
      text: `EV per hour vs honest (USD) — ${report.model}`,
      subtitle: [
        `verification compute ÷ inference compute ${(report.honestVerificationShare * 100).toFixed(2)} % (honest nodes), ${(report.verificationShare * 100).toFixed(2)} % overall, gas per inference ${report.honestGasPerInference.toFixed(0)} (honest nodes), honest verifier ${usd(report.honestVerifierProfitPerHourUsd)} USD/h`,
        `median detection latency ${median(report.rows.flatMap((r) => (r.detectionLatencySeconds === null ? [] : [r.detectionLatencySeconds])))?.toFixed(0) ?? '—'} s; seed ${report.seed}`,
      ],
    },
    data: [{ name: 'rows', values }],
    scales: [
      { name: 'y', type: 'band', domain: { data: 'rows', field: 'label' }, range: 'height', padding: 0.15 },
      { name: 'x', type: 'symlog', domain: { data: 'rows', field: 'ev' }, range: 'width', nice: true, zero: true },
      { name: 'c', type: 'ordinal', domain: ['node', 'verifier'], range: ['#4c78a8', '#f58518'] },
    ],
    axes: [
      { orient: 'bottom', scale: 'x', title: 'USD per hour, relative to an honest actor (symlog)' },
      { orient: 'left', scale: 'y', labelLimit: 260 },
    ],
    marks: [
      {
        type: 'rect',
        from: { data: 'rows' },
        encode: {
          enter: {
            y: { scale: 'y', field: 'label' },
            height: { scale: 'y', band: 1 },
            x: { scale: 'x', field: 'ev' },
            x2: { scale: 'x', value: 0 },
            fill: { scale: 'c', field: 'role' },
          },
        },
      },
    ],
  }
  const view = new View(parse(spec as never), { renderer: 'none' })
  return view.toSVG()
}
