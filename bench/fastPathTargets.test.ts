import { describe, expect, it } from 'vitest'
import { judgeTargets, type PhaseOutcome, summariseRounds } from './fastPathTargets.js'

const phase = (over: Partial<PhaseOutcome>): PhaseOutcome => ({
  concurrency: 32,
  rate: 2500,
  runRef: 3000,
  blocks: [2500, 2500],
  p50: 10,
  runP50: 5,
  checkP50: 0.07,
  ...over,
})

describe('judgeTargets', () => {
  it('judges each target on its own phase, with the figures that decide it', () => {
    const lines = judgeTargets(
      [
        phase({ concurrency: 1, rate: 800, runRef: 3000, blocks: [800, 790], p50: 0.83, runP50: 0.26 }),
        phase({ concurrency: 32, rate: 2139, runRef: 4520, blocks: [2206, 2181] }),
      ],
      0,
    )
    expect(lines).toEqual([
      'c = 32, >= 2,000 receipts/s: met (2139/s)',
      'c = 32, >= 0.7x the run reference: NOT met (0.47x of 4520/s)',
      'c = 1, last 10-s block >= 0.9x the first: met (0.99)',
      'c = 32, last 10-s block >= 0.9x the first: met (0.99)',
      'c = 1, p50 <= 1 ms above the run reference: met (+0.57 ms: 0.83 against 0.26)',
      'SDK check <= 0.5 ms: met (p50 at most 0.070 ms)',
      'with 1,000,000 stored: not judged here (--prefill 1000000, or bench:compare --b-prefill 1000000)',
    ])
  })

  it('judges the ratio on the median of the rounds in turns when they ran', () => {
    const rounds = [
      { node: 1400, run: 2000 },
      { node: 1300, run: 2000 },
      { node: 1500, run: 2000 },
      { node: 1000, run: 2000 },
    ]
    // The long phases alone would meet it (a slow minute of the reference); the rounds do not.
    const lines = judgeTargets([phase({ rate: 1400, runRef: 1500, rounds })], 0)
    expect(lines).toContain(
      'c = 32, >= 0.7x the run reference: NOT met (median 0.68x over 4 rounds in turns, 0.50-0.75; the long phases 0.93x of 1500/s)',
    )
    expect(judgeTargets([phase({ rounds: [{ node: 1400, run: 2000 }] })], 0)).toContain(
      'c = 32, >= 0.7x the run reference: met (median 0.70x over 1 rounds in turns, 0.70-0.70; the long phases 0.83x of 3000/s)',
    )
  })

  it('summarises rounds: each ratio, the median of an odd or even count, the range', () => {
    expect(
      summariseRounds([
        { node: 1, run: 2 },
        { node: 3, run: 4 },
        { node: 1, run: 1 },
      ]),
    ).toEqual({
      ratios: [0.5, 0.75, 1],
      median: 0.75,
      min: 0.5,
      max: 1,
    })
    expect(
      summariseRounds([
        { node: 1, run: 4 },
        { node: 1, run: 2 },
      ]).median,
    ).toBe(0.375)
    expect(Number.isNaN(summariseRounds([]).median)).toBe(true)
  })

  it('fails a target at its threshold’s wrong side and says what did not run', () => {
    const lines = judgeTargets([phase({ concurrency: 8, blocks: [1000, 899], checkP50: 0.51 })], 1_000_000)
    expect(lines).toContain('c = 32: not run')
    expect(lines).toContain('c = 1: not run')
    expect(lines).toContain('c = 8, last 10-s block >= 0.9x the first: NOT met (0.90)')
    expect(lines).toContain('SDK check <= 0.5 ms: NOT met (p50 at most 0.510 ms)')
    expect(lines).toContain('with 1,000,000 stored first: the phases above (compare them with a run that stored none)')
    expect(judgeTargets([phase({ blocks: [2000] })], 0)).toContain(
      'c = 32, last 10-s block >= 0.9x the first: not judged (fewer than two blocks)',
    )
  })
})
