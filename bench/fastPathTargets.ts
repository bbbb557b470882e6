/** The fast path's targets (docs/benchmarks.md, "The fast path under load"), judged on one `bench:load` run. */

/** What one node phase gave, as the targets are judged. */
export type PhaseOutcome = {
  concurrency: number
  /** Receipts per second over the phase, and the Verity `run` reference's answers per second. */
  rate: number
  runRef: number
  /** Receipts per second in each 10-s block. */
  blocks: number[]
  /** Round-trip p50s, ms: the node's and the `run` reference's. */
  p50: number
  runP50: number
  /** The SDK's check of one answer, p50, ms. */
  checkP50: number
  /** Short rounds of the node and the `run` reference in turns, each side's answers per second (none: not run). */
  rounds?: readonly RoundPair[]
}

/** One round of the node and the `run` reference loaded in turns: receipts/s and answers/s. */
export type RoundPair = { node: number; run: number }

/** Pure: the node's ratio to the `run` reference in each round, their median (the mean of the middle two for an even count) and range. */
export function summariseRounds(rounds: readonly RoundPair[]): { ratios: number[]; median: number; min: number; max: number } {
  const ratios = rounds.map((r) => r.node / r.run)
  const sorted = [...ratios].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  const median = sorted.length === 0 ? Number.NaN : sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
  return { ratios, median, min: sorted[0] ?? Number.NaN, max: sorted.at(-1) ?? Number.NaN }
}

/** The thresholds: each is compared and printed from here, so the two cannot drift apart. */
export const TARGETS = { receiptsPerSecond: 2000, ratioToRun: 0.7, lastOverFirst: 0.9, p50AboveRunMs: 1, checkMs: 0.5, stored: 1_000_000 }

/**
 * Pure: the fast path's targets, each as met or not on the phases of one run, with the figures that
 * decide it: at c = 32 at least 2,000 receipts/s and 0.7× the `run` reference (on the median of the rounds in
 * turns when they ran, else on the long phases); in every phase the last
 * 10-s block at least 0.9× the first; at c = 1 a p50 at most 1 ms above the reference's; the SDK's check
 * at most 0.5 ms. A target whose phase did not run says so, as does history when nothing was stored first.
 */
export function judgeTargets(phases: readonly PhaseOutcome[], prefill: number): string[] {
  const t = TARGETS
  const verdict = (met: boolean) => (met ? 'met' : 'NOT met')
  const at = (c: number) => phases.find((p) => p.concurrency === c)
  const lines: string[] = []
  const c32 = at(32)
  if (c32) {
    lines.push(
      `c = 32, >= ${t.receiptsPerSecond.toLocaleString('en-US')} receipts/s: ${verdict(c32.rate >= t.receiptsPerSecond)} (${c32.rate.toFixed(0)}/s)`,
    )
    const ratio = c32.rate / c32.runRef
    const phases = `${ratio.toFixed(2)}x of ${c32.runRef.toFixed(0)}/s`
    if (c32.rounds && c32.rounds.length > 0) {
      // Judged on the rounds in turns: the long phases ran minutes apart, on a machine whose speed moves.
      const r = summariseRounds(c32.rounds)
      lines.push(
        `c = 32, >= ${t.ratioToRun}x the run reference: ${verdict(r.median >= t.ratioToRun)} (median ${r.median.toFixed(2)}x over ${r.ratios.length} rounds in turns, ${r.min.toFixed(2)}-${r.max.toFixed(2)}; the long phases ${phases})`,
      )
    } else lines.push(`c = 32, >= ${t.ratioToRun}x the run reference: ${verdict(ratio >= t.ratioToRun)} (${phases})`)
  } else lines.push('c = 32: not run')
  for (const p of phases) {
    const flat = p.blocks.length >= 2 ? p.blocks.at(-1)! / p.blocks[0]! : Number.NaN
    lines.push(
      `c = ${p.concurrency}, last 10-s block >= ${t.lastOverFirst}x the first: ${Number.isNaN(flat) ? 'not judged (fewer than two blocks)' : `${verdict(flat >= t.lastOverFirst)} (${flat.toFixed(2)})`}`,
    )
  }
  const c1 = at(1)
  if (c1) {
    const above = c1.p50 - c1.runP50
    lines.push(
      `c = 1, p50 <= ${t.p50AboveRunMs} ms above the run reference: ${verdict(above <= t.p50AboveRunMs)} (+${above.toFixed(2)} ms: ${c1.p50.toFixed(2)} against ${c1.runP50.toFixed(2)})`,
    )
  } else lines.push('c = 1: not run')
  if (phases.length > 0) {
    const check = Math.max(...phases.map((p) => p.checkP50))
    lines.push(`SDK check <= ${t.checkMs} ms: ${verdict(check <= t.checkMs)} (p50 at most ${check.toFixed(3)} ms)`)
  } else lines.push('SDK check: no phase ran')
  lines.push(
    prefill >= t.stored
      ? `with ${prefill.toLocaleString('en-US')} stored first: the phases above (compare them with a run that stored none)`
      : `with ${t.stored.toLocaleString('en-US')} stored: not judged here (--prefill ${t.stored}, or bench:compare --b-prefill ${t.stored})`,
  )
  return lines
}
