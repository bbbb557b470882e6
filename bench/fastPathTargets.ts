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
}

/**
 * Pure: the fast path's targets, each as met or not on the phases of one run, with the figures that
 * decide it: at c = 32 at least 2,000 receipts/s and 0.7× the `run` reference; in every phase the last
 * 10-s block at least 0.9× the first; at c = 1 a p50 at most 1 ms above the reference's; the SDK's check
 * at most 0.5 ms. A target whose phase did not run says so, as does history when nothing was stored first.
 */
export function judgeTargets(phases: readonly PhaseOutcome[], prefill: number): string[] {
  const verdict = (met: boolean) => (met ? 'met' : 'NOT met')
  const at = (c: number) => phases.find((p) => p.concurrency === c)
  const lines: string[] = []
  const c32 = at(32)
  if (c32) {
    lines.push(`c = 32, >= 2,000 receipts/s: ${verdict(c32.rate >= 2000)} (${c32.rate.toFixed(0)}/s)`)
    const ratio = c32.rate / c32.runRef
    lines.push(`c = 32, >= 0.7x the run reference: ${verdict(ratio >= 0.7)} (${ratio.toFixed(2)}x of ${c32.runRef.toFixed(0)}/s)`)
  } else lines.push('c = 32: not run')
  for (const p of phases) {
    const flat = p.blocks.length >= 2 ? p.blocks.at(-1)! / p.blocks[0]! : Number.NaN
    lines.push(
      `c = ${p.concurrency}, last 10-s block >= 0.9x the first: ${Number.isNaN(flat) ? 'not judged (fewer than two blocks)' : `${verdict(flat >= 0.9)} (${flat.toFixed(2)})`}`,
    )
  }
  const c1 = at(1)
  if (c1) {
    const above = c1.p50 - c1.runP50
    lines.push(
      `c = 1, p50 <= 1 ms above the run reference: ${verdict(above <= 1)} (+${above.toFixed(2)} ms: ${c1.p50.toFixed(2)} against ${c1.runP50.toFixed(2)})`,
    )
  } else lines.push('c = 1: not run')
  const check = Math.max(...phases.map((p) => p.checkP50))
  lines.push(`SDK check <= 0.5 ms: ${verdict(check <= 0.5)} (p50 at most ${check.toFixed(3)} ms)`)
  lines.push(
    prefill >= 1_000_000
      ? `with ${prefill.toLocaleString('en-US')} stored first: the phases above (compare them with a run that stored none)`
      : 'with 1,000,000 stored: not judged here (--prefill 1000000, or bench:compare --b-prefill 1000000)',
  )
  return lines
}
