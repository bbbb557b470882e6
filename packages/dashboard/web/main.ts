import './locale.js'
import { boundedFetch, checkServedReceipt, fetchJson, MODEL_FETCH_LIMITS, receiptFromWire } from '@verity/protocol'
import { modelFromArtifact, reexecute } from '@verity/sdk/browser'
import uPlot from 'uplot'
import { formatNumber, formatTime } from './locale.js'
import 'uplot/dist/uPlot.min.css'
import './style.css'

type Percentiles = { count: number; p50: number | null; p90: number | null; p99: number | null }
type Summary = {
  inferences: number
  levels: Record<string, number>
  coverage: {
    reexecuted: number
    byMode: { mode: string; total: number; reexecuted: number; share: number }[]
    attestationsPerReceipt: number
  }
  compute: {
    inferenceMs: number
    inferenceRuns: number
    verificationMs: number
    verificationRuns: number
    mismatches: number
    ratio: number
  }
  verification: {
    inferences: number
    decoys: number
    reexecutions: number
    unpriced: number
    inferenceWork: string
    verificationWork: string
    share: number
  }
  trustGap: { attested: Percentiles; final: Percentiles }
  fees: string
  gas: number
  gasPerInference: number
  batches: number
  games: { played: number; nodeLost: number; challengerLost: number; open: number }
  slashed: string
}
type Inference = {
  id: string
  node: string
  level: string
  executedAt: number
  computeMs: number | null
  committedAt: number | null
  attestedAt: number | null
  attestations: number
  disputedAt: number | null
  overturnedAt: number | null
  finalAt: number | null
}
type Gap = { series: { from: number; attested: Percentiles; final: Percentiles }[]; histogram: { bin: number; n: number }[] }
type Verification = {
  modes: string[]
  series: { from: number; inferences: number; inferenceMs: number; checks: number; verificationMs: number; coverage: (number | null)[] }[]
}
type Operator = {
  address: string
  role: number
  staked: string
  slashed: string
  served: number
  checked: number
  attested: number
  computeMs: number
  apiError: string | null
}
type Dispute = {
  gameId: number
  batchId: number
  idx: number
  moves: number
  gas: number
  nodeLost: number | null
  resolvedAt: number | null
  status: string
  slashed: string | null
  refund: string | null
}

const api = async <T>(path: string): Promise<T> => {
  return (await fetchJson(new URL(`.${path}`, location.href).href)) as T
}
const $ = (id: string) => document.getElementById(id)!
const vrt = (wei: string | null) =>
  wei === null ? '–' : formatNumber(Number(BigInt(wei) / 10n ** 12n) / 1e6, { maximumFractionDigits: 4 })
const secs = (v: number | null) => (v === null ? '–' : `${v.toFixed(1)} s`)
const ms = (v: number | null) => (v === null ? '–' : `${v.toFixed(1)} ms`)
/** A total compute time: ms under ten seconds, s above. */
const duration = (totalMs: number) => (totalMs < 10_000 ? `${totalMs.toFixed(0)} ms` : `${(totalMs / 1000).toFixed(1)} s`)
const after = (t: number | null, from: number) => (t === null ? '–' : `+${((t - from) / 1000).toFixed(0)} s`)
const short = (hex: string) => `${hex.slice(0, 8)}…${hex.slice(-4)}`
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

function renderCards(s: Summary) {
  const card = (label: string, value: string, id: string, note = '') =>
    `<div class="card" data-testid="${id}"><div class="label">${label}</div><div class="value">${value}</div><div class="note">${note}</div></div>`
  const level = (l: string) => String(s.levels[l] ?? 0)
  $('cards').innerHTML = [
    card('inferences', String(s.inferences), 'inferences', `${s.batches} batches`),
    card('FINAL', level('FINAL'), 'final'),
    card('ATTESTED', level('ATTESTED'), 'attested'),
    card('COMMITTED', level('COMMITTED'), 'committed'),
    card('EXECUTED', level('EXECUTED'), 'executed', 'signed, not committed yet'),
    card('DISPUTED', level('DISPUTED'), 'disputed'),
    card('OVERTURNED', level('OVERTURNED'), 'overturned'),
    card(
      're-executed',
      `${(100 * s.coverage.reexecuted).toFixed(1)} %`,
      'coverage',
      `${s.coverage.attestationsPerReceipt.toFixed(2)} attestations per receipt`,
    ),
    card(
      'verification ÷ inference',
      `${(100 * s.verification.share).toFixed(2)} %`,
      'verification-share',
      `${formatNumber(s.verification.reexecutions)} re-executions of ${formatNumber(s.verification.inferences)} inferences (${formatNumber(s.verification.decoys)} decoys left out), weighted by model cost; from the chain`,
    ),
    card(
      'verification compute',
      `${s.compute.ratio.toFixed(2)}×`,
      'compute',
      `${duration(s.compute.verificationMs)} re-executing vs ${duration(s.compute.inferenceMs)} inferring`,
    ),
    card(
      'to ATTESTED',
      secs(s.trustGap.attested.p50),
      'gap-attested',
      `p90 ${secs(s.trustGap.attested.p90)} · p99 ${secs(s.trustGap.attested.p99)}`,
    ),
    card('to FINAL', secs(s.trustGap.final.p50), 'gap-final', `p90 ${secs(s.trustGap.final.p90)} · p99 ${secs(s.trustGap.final.p99)}`),
    card('fees', `${vrt(s.fees)} VRT`, 'fees', `${formatNumber(Math.round(s.gasPerInference))} gas / inference`),
    card('disputes', String(s.games.played), 'games', `node lost ${s.games.nodeLost} · challenger lost ${s.games.challengerLost}`),
    card('slashed', `${vrt(s.slashed)} VRT`, 'slashed'),
  ].join('')
}

let gapPlot: uPlot | undefined
let histPlot: uPlot | undefined
function renderCharts(g: Gap) {
  // Nothing to scale an axis on yet: an empty chart would keep a default range of years.
  if (g.series.length === 0) return
  const width = Math.max(320, Math.floor(($('gap-chart').parentElement!.clientWidth || 600) - 16))
  // Seconds since the first indexed receipt (a plain axis: uPlot's calendar axis misranges a short history).
  const x = g.series.map((b) => (b.from - g.series[0]!.from) / 1000)
  const pick = (k: 'attested' | 'final', p: 'p50' | 'p90' | 'p99') => g.series.map((b) => b[k][p])
  const data: uPlot.AlignedData = [
    x,
    pick('attested', 'p50'),
    pick('attested', 'p99'),
    pick('final', 'p50'),
    pick('final', 'p90'),
    pick('final', 'p99'),
  ]
  if (!gapPlot) {
    gapPlot = new uPlot(
      {
        width,
        height: 220,
        series: [
          {},
          { label: 'ATTESTED p50', stroke: '#2a9d8f' },
          { label: 'ATTESTED p99', stroke: '#2a9d8f', dash: [4, 4] },
          { label: 'FINAL p50', stroke: '#264653', width: 2 },
          { label: 'FINAL p90', stroke: '#e9c46a' },
          { label: 'FINAL p99', stroke: '#e76f51', dash: [4, 4] },
        ],
        scales: { x: { time: false } },
        axes: [{ label: 's since the first receipt' }, { label: 's' }],
      },
      data,
      $('gap-chart'),
    )
  } else gapPlot.setData(data)
  const hist: uPlot.AlignedData = [g.histogram.map((b) => b.bin), g.histogram.map((b) => b.n)]
  if (!histPlot) {
    histPlot = new uPlot(
      {
        width,
        height: 220,
        scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        series: [{}, { label: 'receipts', stroke: '#264653', fill: '#26465355', paths: uPlot.paths.bars!({ size: [0.8] }) }],
        axes: [{ label: 's to FINAL' }, {}],
      },
      hist,
      $('histogram'),
    )
  } else histPlot.setData(hist)
}

let computePlot: uPlot | undefined
let coveragePlot: uPlot | undefined
const MODE_COLORS = ['#264653', '#2a9d8f', '#e9c46a', '#f4a261', '#e76f51']
function renderVerification(v: Verification, summary: Summary | undefined) {
  if (v.series.length === 0) return
  const width = Math.max(320, Math.floor(($('compute-chart').parentElement!.clientWidth || 600) - 16))
  const x = v.series.map((b) => (b.from - v.series[0]!.from) / 1000)
  const compute: uPlot.AlignedData = [x, v.series.map((b) => b.inferenceMs), v.series.map((b) => b.verificationMs)]
  if (!computePlot) {
    computePlot = new uPlot(
      {
        width,
        height: 220,
        scales: { x: { time: false } },
        series: [
          {},
          { label: 'inference (ms)', stroke: '#264653', fill: '#26465322' },
          { label: 'verification (ms)', stroke: '#e76f51', fill: '#e76f5122' },
        ],
        axes: [{ label: 's since the first receipt' }, { label: 'ms' }],
      },
      compute,
      $('compute-chart'),
    )
  } else computePlot.setData(compute)
  const coverage = [x, ...v.modes.map((_, m) => v.series.map((b) => b.coverage[m] ?? null))] as uPlot.AlignedData
  // The modes seen so far fix the chart's series; a new mode rebuilds it.
  if (!coveragePlot || coveragePlot.series.length !== v.modes.length + 1) {
    coveragePlot?.destroy()
    coveragePlot = new uPlot(
      {
        width,
        height: 180,
        scales: { x: { time: false }, y: { range: [0, 1] } },
        series: [{}, ...v.modes.map((mode, i) => ({ label: mode, stroke: MODE_COLORS[i % MODE_COLORS.length]!, points: { show: true } }))],
        axes: [{ label: 's since the first receipt' }, { label: 'share re-executed' }],
      },
      coverage,
      $('coverage-chart'),
    )
  } else coveragePlot.setData(coverage)
  if (summary) {
    $('coverage').querySelector('tbody')!.innerHTML = summary.coverage.byMode
      .map(
        (m) =>
          `<tr data-mode="${escapeHtml(m.mode)}"><td>${escapeHtml(m.mode)}</td><td>${m.total}</td><td>${m.reexecuted}</td><td>${(100 * m.share).toFixed(1)} %</td></tr>`,
      )
      .join('')
  }
}

function renderInferences(rows: Inference[]) {
  $('inferences').querySelector('tbody')!.innerHTML = rows
    .map(
      (r) =>
        `<tr data-id="${r.id}" data-level="${r.level}"><td><a href="#${r.id}">${short(r.id)}</a></td><td>${short(r.node)}</td>` +
        `<td><span class="level ${r.level}">${r.level}</span></td><td>${ms(r.computeMs)}</td><td>${after(r.committedAt, r.executedAt)}</td>` +
        `<td>${after(r.attestedAt, r.executedAt)}${r.attestations > 1 ? ` ×${r.attestations}` : ''}</td><td>${after(r.disputedAt, r.executedAt)}</td>` +
        `<td>${after(r.overturnedAt ?? r.finalAt, r.executedAt)}</td></tr>`,
    )
    .join('')
}

function renderOperators(rows: Operator[]) {
  $('operators').querySelector('tbody')!.innerHTML = rows
    .map(
      (o) =>
        `<tr data-operator="${o.address}"><td>${short(o.address)}</td><td>${o.role === 1 ? 'inference' : 'verifier'}</td><td>${vrt(o.staked)}</td>` +
        `<td>${o.role === 1 ? o.served : '–'}</td><td>${o.role === 2 ? o.checked : '–'}</td><td>${o.role === 2 ? o.attested : '–'}</td>` +
        `<td>${duration(o.computeMs)}</td><td>${vrt(o.slashed)}</td>` +
        `<td class="${o.apiError ? 'error' : ''}">${o.apiError ? escapeHtml(o.apiError) : 'ok'}</td></tr>`,
    )
    .join('')
}

function renderDisputes(rows: Dispute[]) {
  const outcome = (d: Dispute) => (d.resolvedAt === null ? 'playing' : d.nodeLost ? 'node lost' : 'challenger lost')
  $('disputes').querySelector('tbody')!.innerHTML = rows
    .map(
      (d) =>
        `<tr data-game="${d.gameId}"><td>${d.gameId}</td><td>batch ${d.batchId} #${d.idx}</td><td>${d.moves}</td><td>${formatNumber(d.gas)}</td>` +
        `<td class="outcome">${outcome(d)}</td><td>${vrt(d.slashed)}</td><td>${vrt(d.refund)}</td></tr>`,
    )
    .join('')
}

type Detail = {
  id: string
  level: string
  node: string
  mode: string
  receipt: Record<string, unknown>
  signature: `0x${string}` | null
  domain: { chainId: number; settlement: `0x${string}` | null }
  computeMs: number | null
  batch: { batchId: number; root: `0x${string}`; count: number; dataUri: string } | null
  index: number | null
  proof: `0x${string}`[] | null
  attestations: { verifier: string; receipts: number; at: number }[]
  checks: { verifier: string; computeMs: number; matched: number; at: number }[]
  challenges: { challengeId: number; challenger: string; status: string }[]
  cost: { fee: string; gas: { batch: number; attestations: number; disputes: number } }
}

async function renderDetail() {
  const id = location.hash.slice(1)
  const section = $('detail')
  if (!/^0x[0-9a-f]{64}$/i.test(id)) {
    section.hidden = true
    return
  }
  const d = await api<Detail>(`/api/inferences/${id}`)
  section.hidden = false
  const gas = d.cost.gas
  section.innerHTML =
    `<h2>Inference ${short(id)} <span class="level ${d.level}">${d.level}</span></h2>` +
    `<p>Mode ${escapeHtml(d.mode)}; node ${short(d.node)} ran it in ${ms(d.computeMs)}. ` +
    (d.batch
      ? `Receipt ${d.index} of batch ${d.batch.batchId} (${d.batch.count} receipts, root <code>${short(d.batch.root)}</code>).</p>`
      : 'Signed, not in a committed batch yet.</p>') +
    `<pre>${escapeHtml(JSON.stringify(d.receipt, null, 2))}</pre>` +
    (d.proof
      ? `<p>Inclusion proof (${d.proof.length} siblings, leaf up): <code class="proof">${d.proof.map(short).join(' · ') || 'none: a batch of one'}</code></p>`
      : '') +
    `<p>Fee ${vrt(d.cost.fee)} VRT; gas for it: ${formatNumber(gas.batch)} (its share of commit and finalize) + ` +
    `${formatNumber(gas.attestations)} (attestations) + ${formatNumber(gas.disputes)} (dispute games).</p>` +
    `<p>Attested by ${d.attestations.map((a) => short(a.verifier)).join(', ') || 'nobody yet'}; ` +
    `re-executed by ${d.checks.map((c) => `${short(c.verifier)} in ${ms(c.computeMs)} (${c.matched ? 'match' : 'MISMATCH'})`).join(', ') || 'nobody yet'}; ` +
    `challenges: ${d.challenges.map((c) => `#${c.challengeId} ${c.status}`).join(', ') || 'none'}.</p>` +
    `<p><button id="verify">Check in this browser: signature and inclusion</button> <span id="verify-result" class="check"></span></p>` +
    `<p><button id="reexecute">Re-execute it in this browser</button> <span id="reexecute-result" class="check"></span></p>` +
    `<p><button id="audit">Audit on the server: re-execute it from public data</button> <span id="audit-result"></span></p>`
  $('verify').addEventListener('click', () => void verifyHere(id, d))
  $('reexecute').addEventListener('click', () => void reexecuteHere(d))
  $('audit').addEventListener('click', () => void runAudit(id))
}

/**
 * Checks the receipt here, with no trust in the dashboard's verdicts — `checkServedReceipt`, as
 * every client does: its EIP-712 digest is the inference id, the signature recovers to the
 * receipt's node, and the inclusion proof leads to the batch root the index read from the chain.
 */
async function verifyHere(id: string, d: Detail) {
  const out = $('verify-result')
  const settlement = d.domain.settlement
  if (!settlement) {
    out.textContent = 'the dashboard has no settlement address to hash the receipt with'
    return
  }
  const inBatch = d.batch && d.proof && d.index !== null
  try {
    const receipt = checkServedReceipt({
      inferenceId: id as `0x${string}`,
      receipt: d.receipt,
      signature: d.signature,
      domain: { chainId: d.domain.chainId, settlement },
      ...(inBatch ? { inclusion: { root: d.batch!.root, count: d.batch!.count, index: d.index, proof: d.proof } } : {}),
    })
    const steps = ['digest = id', `signed by node ${short(receipt.node)}`]
    if (inBatch) steps.push(`in batch ${d.batch!.batchId} (root ${short(d.batch!.root)})`)
    out.className = 'check ok'
    out.textContent = `VALID: ${steps.map((s) => `✓ ${s}`).join(' · ')}`
  } catch (error) {
    out.className = 'check bad'
    out.textContent = `INVALID: ${(error as { shortMessage?: string }).shortMessage ?? (error as Error).message}`
  }
}

/**
 * Re-executes the inference here: the model artifact (from its registered URI) must hash to the
 * receipt's model id and the input (from its node) to its input hash; then the page runs the
 * integer runtime, compiled into it, and compares the output hash with the receipt's.
 */
async function reexecuteHere(d: Detail) {
  const out = $('reexecute-result')
  out.className = 'check'
  out.textContent = 'fetching the model and the input…'
  try {
    const receipt = receiptFromWire(d.receipt)
    const [artifact, input] = await Promise.all([
      boundedFetch(new URL(`./api/models/${receipt.modelId}/artifact`, location.href).href, MODEL_FETCH_LIMITS),
      boundedFetch(new URL(`./api/inferences/${d.id}/input`, location.href).href),
    ])
    if (!artifact.ok) throw new Error(`model artifact: ${artifact.status}`)
    if (!input.ok) throw new Error(`input: ${input.status}`)
    const model = modelFromArtifact(receipt.modelId, artifact.bytes)
    const result = reexecute(model, receipt, (input.json() as { inputs: unknown }).inputs)
    out.className = `check ${result.match ? 'ok' : 'bad'}`
    out.textContent = `${result.match ? 'MATCH' : 'MISMATCH'}: this browser computed ${short(result.recomputedOutputHash)} in ${result.ms.toFixed(1)} ms, the receipt says ${short(receipt.outputHash)}`
  } catch (error) {
    out.className = 'check bad'
    out.textContent = `could not re-execute: ${(error as Error).message}`
  }
}

/** Asks the dashboard to re-execute the inference (the SDK's audit) and shows the verdict. */
async function runAudit(id: string) {
  const out = $('audit-result')
  out.textContent = 're-executing…'
  const response = await boundedFetch(new URL(`./api/inferences/${id}/audit`, location.href).href, { method: 'POST', timeoutMs: 120_000 })
  const body = response.json() as { match?: boolean; ms?: number; recomputedOutputHash?: string; error?: { message: string } }
  out.textContent = body.error
    ? `audit failed: ${body.error.message}`
    : `${body.match ? 'MATCH' : 'MISMATCH'}: recomputed ${short(body.recomputedOutputHash!)} in ${body.ms!.toFixed(1)} ms`
}

let tick = 0

/** Summary and live stream every second; the heavier views (charts, operators, disputes) every fifth. */
async function refresh() {
  try {
    const full = tick++ % 5 === 0
    const [summary, inferences] = await Promise.all([api<Summary>('/api/summary'), api<Inference[]>('/api/inferences?limit=30')])
    renderCards(summary)
    renderInferences(inferences)
    if (full) {
      const [gap, verification, operators, disputes] = await Promise.all([
        api<Gap>('/api/trust-gap?buckets=40'),
        api<Verification>('/api/verification?buckets=40'),
        api<Operator[]>('/api/operators'),
        api<Dispute[]>('/api/disputes'),
      ])
      renderCharts(gap)
      renderVerification(verification, summary)
      renderOperators(operators)
      renderDisputes(disputes)
    }
    $('status').textContent = `live · updated ${formatTime(new Date())}`
  } catch (error) {
    $('status').textContent = `offline: ${(error as Error).message}`
  }
}

window.addEventListener('hashchange', () => void renderDetail())
void renderDetail()
void refresh()
setInterval(() => void refresh(), 1000)
