import { COMPUTE_BUCKETS, GAP_BUCKETS, Metrics } from '@verity/node'
import { summaryOf } from './figures.js'
import type { IndexStore } from './indexStore.js'

/** Cumulative counts at each bound of items that each fall in one place (`at`) with a multiplicity `n`. */
const cumulative = <T extends { n: number }>(
  bounds: readonly number[],
  items: T[],
  within: (item: T, bound: number, i: number) => boolean,
) => bounds.map((bound, i) => items.reduce((a, item) => a + (within(item, bound, i) ? item.n : 0), 0))

/** A histogram of whole-second trust gaps from the per-slot bins. */
function gapHistogram(store: IndexStore, level: 'ATTESTED' | 'FINAL') {
  const bins = store.all<{ bin: number; n: number }>('SELECT bin, SUM(n) AS n FROM agg_gaps WHERE level = ? GROUP BY bin', level)
  return {
    counts: cumulative(GAP_BUCKETS, bins, (b, bound) => b.bin <= bound),
    sum: bins.reduce((a, b) => a + b.bin * b.n, 0),
    count: bins.reduce((a, b) => a + b.n, 0),
  }
}

/** A histogram of compute times (seconds) from the compute aggregates (bucket i = COMPUTE_BUCKETS[i], then +Inf). */
function computeHistogram(store: IndexStore, role: 'inference' | 'verification') {
  const buckets = store.all<{ bucket: number; n: number; ms: number }>('SELECT bucket, n, ms FROM agg_compute WHERE role = ?', role)
  return {
    counts: cumulative(COMPUTE_BUCKETS, buckets, (b, _, i) => b.bucket <= i),
    sum: buckets.reduce((a, b) => a + b.ms, 0) / 1000,
    count: buckets.reduce((a, b) => a + b.n, 0),
  }
}

const vrt = (wei: string) => Number(BigInt(wei) / 10n ** 12n) / 1e6

/**
 * The dashboard's figures for Prometheus (`verity_network_*`), computed from the index at each
 * scrape: receipts by trust level, the trust gap to ATTESTED and FINAL, coverage by mode, compute of
 * inference and of verification, fees, gas, disputes, stakes and slashes. The same histogram bounds
 * as the nodes' and verifiers' own `/metrics`.
 */
export function renderMetrics(store: IndexStore): string {
  const s = summaryOf(store)
  const m = new Metrics('verity_network')
  m.define('receipts', 'gauge', 'Receipts by trust level')
  for (const [level, n] of Object.entries(s.levels)) m.set('receipts', n, { level })
  m.define(
    'trust_gap_seconds',
    'histogram',
    'Time from a receipt (its signed issuedAt) to the block that made it ATTESTED or FINAL',
    GAP_BUCKETS,
  )
  for (const level of ['ATTESTED', 'FINAL'] as const) {
    const h = gapHistogram(store, level)
    m.setHistogram('trust_gap_seconds', h.counts, h.sum, h.count, { level })
  }
  m.define('reexecuted_ratio', 'gauge', 'Share of committed receipts re-executed by a verifier (attested or challenged), by mode')
  for (const mode of s.coverage.byMode) m.set('reexecuted_ratio', mode.share, { mode: mode.mode })
  m.define(
    'verification_share',
    'gauge',
    'Verification compute ÷ inference compute from chain facts: attested and challenged receipts over committed receipts less revealed decoys, each weighted by its model cost',
  )
  m.set('verification_share', s.verification.share)
  m.define(
    'model_work',
    'gauge',
    'Model-cost units (multiply-accumulates and element ops) of committed inferences and of re-executions, by role',
  )
  m.set('model_work', Number(s.verification.inferenceWork), { role: 'inference' })
  m.set('model_work', Number(s.verification.verificationWork), { role: 'verification' })
  m.define(
    'compute_seconds',
    'histogram',
    'Model run time per run, by role (inference = the node, verification = a re-execution)',
    COMPUTE_BUCKETS,
  )
  for (const role of ['inference', 'verification'] as const) {
    const h = computeHistogram(store, role)
    m.setHistogram('compute_seconds', h.counts, h.sum, h.count, { role })
  }
  m.define('fees_vrt', 'gauge', 'Fees collected by committed batches less the refunds of overturned receipts, in VRT')
  m.set('fees_vrt', vrt(s.fees))
  m.define('gas_used', 'gauge', 'Gas of commits, finalizations, attestations and dispute moves')
  m.set('gas_used', s.gas)
  m.define('disputes', 'gauge', 'Dispute games by outcome')
  m.set('disputes', s.games.nodeLost, { outcome: 'node_lost' })
  m.set('disputes', s.games.challengerLost, { outcome: 'challenger_lost' })
  m.set('disputes', s.games.open, { outcome: 'open' })
  m.define('stake_vrt', 'gauge', 'Active stake by operator and role')
  m.define('slashed_vrt', 'gauge', 'Stake slashed by operator and role')
  for (const op of store.all<{ address: string; role: number; staked: string; slashed: string }>(
    'SELECT address, role, staked, slashed FROM operators',
  )) {
    const labels = { operator: op.address, role: op.role === 1 ? 'inference' : 'verifier' }
    m.set('stake_vrt', vrt(op.staked), labels)
    m.set('slashed_vrt', vrt(op.slashed), labels)
  }
  return m.render()
}
