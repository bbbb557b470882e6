import { decodeMode } from '@verity/protocol'
import { levelOf, SLOT_MS } from './aggregates.js'
import type { IndexStore } from './indexStore.js'

export type Percentiles = { count: number; p50: number | null; p90: number | null; p99: number | null }

/** A receipt's trust level from its indexed times (the same rules as the SDK's `trustOf`). */
export const LEVEL_SQL = levelOf('inferences')

export const LEVELS = ['EXECUTED', 'COMMITTED', 'ATTESTED', 'DISPUTED', 'OVERTURNED', 'FINAL'] as const

/** A mode byte's name (none, optimistic, zk, quorum:k), or `mode N` for a byte no mode has. */
export const modeName = (mode: number): string => {
  try {
    return decodeMode(mode)
  } catch {
    return `mode ${mode}`
  }
}

/**
 * Seconds-valued percentiles (nearest rank) of a gap over the receipts that have it, read from the
 * gap's expression index: a count and three offset lookups, whatever the number of receipts.
 */
export function gapPercentiles(store: IndexStore, level: 'attested' | 'final'): Percentiles {
  const expr = `${level}_at_ms - executed_at_ms`
  const where = `${level}_at_ms IS NOT NULL`
  const count = store.get<{ n: number }>(`SELECT COUNT(*) AS n FROM inferences WHERE ${where}`)!.n
  const at = (p: number) =>
    count === 0
      ? null
      : store.get<{ v: number }>(
          `SELECT ${expr} AS v FROM inferences WHERE ${where} ORDER BY ${expr} LIMIT 1 OFFSET ?`,
          Math.ceil(p * count) - 1,
        )!.v / 1000
  return { count, p50: at(0.5), p90: at(0.9), p99: at(0.99) }
}

const sum = (values: string[]) => values.reduce((a, b) => a + BigInt(b), 0n)

/** The network at a glance: receipts by level, coverage, compute, trust gap, fees, gas, disputes, slashes. */
export function summaryOf(store: IndexStore) {
  const levels: Record<string, number> = Object.fromEntries(LEVELS.map((l) => [l, 0]))
  for (const r of store.all<{ level: string; n: number }>('SELECT level, n FROM agg_levels')) levels[r.level] = r.n
  const total = Object.values(levels).reduce((a, b) => a + b, 0)
  const committed = total - levels.EXECUTED!
  const byMode = store.all<{ mode: number; total: number; reexecuted: number }>(
    'SELECT mode, SUM(committed) AS total, SUM(reexecuted) AS reexecuted FROM agg_slots GROUP BY mode HAVING SUM(committed) > 0 ORDER BY mode',
  )
  const compute = store.get<{ inferenceMs: number; inferenceRuns: number; verificationMs: number; verificationRuns: number }>(
    `SELECT COALESCE(SUM(inference_ms), 0) AS inferenceMs, COALESCE(SUM(inference_runs), 0) AS inferenceRuns,
            COALESCE(SUM(verification_ms), 0) AS verificationMs, COALESCE(SUM(checks), 0) AS verificationRuns FROM agg_slots`,
  )!
  const mismatches = store.get<{ n: number }>('SELECT COALESCE(SUM(mismatched), 0) AS n FROM agg_verifiers')!.n
  const gas = store.get<{ g: number }>(
    `SELECT (SELECT COALESCE(SUM(gas), 0) FROM batches) + (SELECT COALESCE(SUM(gas), 0) FROM attestations)
          + (SELECT COALESCE(SUM(gas), 0) FROM games) AS g`,
  )!.g
  const attestedReceipts = store.get<{ n: number }>('SELECT COALESCE(SUM(receipts), 0) AS n FROM attestations')!.n
  const games = store.get<{ played: number; nodeLost: number; challengerLost: number; open: number }>(
    `SELECT COUNT(*) AS played, COALESCE(SUM(node_lost = 1), 0) AS nodeLost, COALESCE(SUM(node_lost = 0), 0) AS challengerLost,
            COALESCE(SUM(resolved_at_ms IS NULL), 0) AS open FROM games`,
  )!
  const reexecuted = byMode.reduce((a, m) => a + m.reexecuted, 0)
  return {
    inferences: total,
    levels,
    coverage: {
      // Of the committed receipts, the share a verifier re-executed (attested or challenged on-chain).
      reexecuted: committed === 0 ? 0 : reexecuted / committed,
      byMode: byMode.map((m) => ({ mode: modeName(m.mode), total: m.total, reexecuted: m.reexecuted, share: m.reexecuted / m.total })),
      // Receipt-attestations per committed receipt (a quorum receipt counts once per verifier).
      attestationsPerReceipt: committed === 0 ? 0 : attestedReceipts / committed,
    },
    compute: {
      // The nodes' and verifiers' own measures of their model runs (reported by their APIs).
      ...compute,
      mismatches,
      ratio: compute.inferenceMs === 0 ? 0 : compute.verificationMs / compute.inferenceMs,
    },
    verification: verificationRatioOf(store),
    trustGap: { attested: gapPercentiles(store, 'attested'), final: gapPercentiles(store, 'final') },
    // What moved on-chain: fees redeemed from clients' escrow less the refunds of overturned
    // receipts (at the overturn, or claimed by the client's inclusion challenge when the overturn
    // named no client), and what finalized batches paid out to their verifiers.
    fees: (
      sum(store.all<{ debited: string }>('SELECT debited FROM redemptions').map((r) => r.debited)) -
      sum(store.all<{ refund: string }>("SELECT refund FROM challenges WHERE status = 'upheld'").map((r) => r.refund)) -
      sum(store.all<{ refund: string }>('SELECT refund FROM inclusion_refunds').map((r) => r.refund))
    ).toString(),
    feesPaid: sum(store.all<{ paid: string }>('SELECT paid FROM batches WHERE paid IS NOT NULL').map((r) => r.paid)).toString(),
    gas,
    gasPerInference: committed === 0 ? 0 : gas / committed,
    batches: store.get<{ n: number }>('SELECT COUNT(*) AS n FROM batches')!.n,
    games,
    slashed: sum(store.all<{ slashed: string }>('SELECT slashed FROM operators').map((r) => r.slashed)).toString(),
  }
}

export type Summary = ReturnType<typeof summaryOf>

/**
 * Verification compute ÷ inference compute, from chain facts alone (issue 14; the devnet's summary
 * measures the same from the roles' own clocks). Re-executions: for each verifier, the receipts its
 * attestation bitmaps hold plus those it challenged; inferences: committed receipts less the decoys
 * their nodes revealed (forced errors, no client asked for them). Each is weighted by its model's
 * `modelCost` (the work of one run, counted from the registered artifact's graph), so receipts of a
 * small and a large model add up as the compute they stand for. Receipts of a model not priced yet
 * (its artifact unavailable) are left out and counted in `unpriced`.
 */
export function verificationRatioOf(store: IndexStore) {
  const rows = store.all<{ model_id: string; committed: number; decoys: number; reexecutions: number; cost: string | null }>(
    'SELECT a.model_id, a.committed, a.decoys, a.reexecutions, m.cost FROM agg_models a LEFT JOIN models m ON m.model_id = a.model_id',
  )
  let inferenceWork = 0n
  let verificationWork = 0n
  let inferences = 0
  let decoys = 0
  let reexecutions = 0
  let unpriced = 0
  for (const r of rows) {
    if (r.cost === null) {
      unpriced += r.committed
      continue
    }
    inferences += r.committed - r.decoys
    decoys += r.decoys
    reexecutions += r.reexecutions
    inferenceWork += BigInt(r.committed - r.decoys) * BigInt(r.cost)
    verificationWork += BigInt(r.reexecutions) * BigInt(r.cost)
  }
  return {
    inferences,
    decoys,
    reexecutions,
    unpriced,
    /** Model-cost units (multiply-accumulates and element ops) of the inferences and of the re-executions, as decimal strings. */
    inferenceWork: inferenceWork.toString(),
    verificationWork: verificationWork.toString(),
    share: inferenceWork === 0n ? 0 : Number((verificationWork * 1_000_000n) / inferenceWork) / 1_000_000,
  }
}

/** Groups the index's time slots into at most `buckets` intervals: the interval of a slot, and where each begins (ms). */
function intervals(store: IndexStore, buckets: number) {
  const span = store.get<{ lo: number | null; hi: number | null }>(
    'SELECT MIN(slot) AS lo, MAX(slot) AS hi FROM agg_slots WHERE inferences > 0',
  )!
  if (span.lo === null || span.hi === null) return undefined
  const lo = span.lo
  const width = Math.max(1, Math.ceil((span.hi - lo + 1) / buckets))
  const count = Math.ceil((span.hi - lo + 1) / width)
  return {
    count,
    of: (slot: number) => Math.min(count - 1, Math.max(0, Math.floor((slot - lo) / width))),
    from: (i: number) => (lo + i * width) * SLOT_MS,
  }
}

/** Nearest-rank percentiles from a histogram of whole seconds (bin → receipts). */
function percentilesOfBins(bins: Map<number, number>): Percentiles {
  const sorted = [...bins.entries()].filter(([, n]) => n > 0).sort((a, b) => a[0] - b[0])
  const count = sorted.reduce((a, [, n]) => a + n, 0)
  const at = (p: number) => {
    if (count === 0) return null
    const rank = Math.ceil(p * count)
    let seen = 0
    for (const [bin, n] of sorted) {
      seen += n
      if (seen >= rank) return bin
    }
    return sorted.at(-1)![0]
  }
  return { count, p50: at(0.5), p90: at(0.9), p99: at(0.99) }
}

/**
 * Trust-gap percentiles per interval of execution time (from the per-slot histograms of whole
 * seconds), and the histogram of the gap to FINAL (1 s bins).
 */
export function trustGapOf(store: IndexStore, buckets: number) {
  const grid = intervals(store, buckets)
  const series: { from: number; attested: Percentiles; final: Percentiles }[] = []
  if (grid) {
    const bins = Array.from({ length: grid.count }, () => ({ ATTESTED: new Map<number, number>(), FINAL: new Map<number, number>() }))
    for (const g of store.all<{ slot: number; level: 'ATTESTED' | 'FINAL'; bin: number; n: number }>(
      'SELECT slot, level, bin, n FROM agg_gaps',
    )) {
      const m = bins[grid.of(g.slot)]![g.level]
      m.set(g.bin, (m.get(g.bin) ?? 0) + g.n)
    }
    for (const [i, b] of bins.entries()) {
      series.push({ from: grid.from(i), attested: percentilesOfBins(b.ATTESTED), final: percentilesOfBins(b.FINAL) })
    }
  }
  const histogram = store.all<{ bin: number; n: number }>(
    "SELECT bin, SUM(n) AS n FROM agg_gaps WHERE level = 'FINAL' GROUP BY bin HAVING SUM(n) > 0 ORDER BY bin",
  )
  return { series, histogram }
}

/**
 * Verification over time, per interval: receipts executed, the share of those committed that a
 * verifier re-executed, by mode; and compute spent in the interval — the nodes' model runs against
 * the verifiers' re-executions (both in ms, as each reports it).
 */
export function verificationOf(store: IndexStore, buckets: number) {
  const grid = intervals(store, buckets)
  if (!grid) return { modes: [] as string[], series: [] }
  const modes = store.all<{ mode: number }>('SELECT DISTINCT mode FROM agg_slots WHERE inferences > 0 ORDER BY mode').map((m) => m.mode)
  const series = Array.from({ length: grid.count }, (_, i) => ({
    from: grid.from(i),
    inferences: 0,
    inferenceMs: 0,
    verificationMs: 0,
    checks: 0,
    committed: modes.map(() => 0),
    reexecuted: modes.map(() => 0),
  }))
  for (const r of store.all<{
    slot: number
    mode: number
    inferences: number
    inference_ms: number
    committed: number
    reexecuted: number
    checks: number
    verification_ms: number
  }>('SELECT * FROM agg_slots')) {
    const s = series[grid.of(r.slot)]!
    s.inferences += r.inferences
    s.inferenceMs += r.inference_ms
    s.checks += r.checks
    s.verificationMs += r.verification_ms
    const m = modes.indexOf(r.mode)
    if (m < 0) continue
    s.committed[m]! += r.committed
    s.reexecuted[m]! += r.reexecuted
  }
  return {
    modes: modes.map(modeName),
    series: series.map((s) => ({
      from: s.from,
      inferences: s.inferences,
      inferenceMs: s.inferenceMs,
      checks: s.checks,
      verificationMs: s.verificationMs,
      coverage: s.committed.map((n, i) => (n === 0 ? null : s.reexecuted[i]! / n)),
    })),
  }
}
