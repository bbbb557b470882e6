import { describe, expect, it } from 'vitest'
import { Metrics } from '../src/metrics.js'
import { lintMetrics } from './promLint.js'

describe('Metrics (Prometheus text format)', () => {
  it('renders counters, gauges and cumulative histograms with their labels', () => {
    const m = new Metrics('t')
    m.define('runs_total', 'counter', 'Runs')
    m.define('level', 'gauge', 'Level')
    m.define('seconds', 'histogram', 'Seconds', [0.1, 1, 10])
    m.inc('runs_total', { mode: 'optimistic' })
    m.inc('runs_total', { mode: 'optimistic' }, 2)
    m.set('level', 7, { level: 'FINAL' })
    for (const v of [0.05, 0.1, 0.5, 3, 30]) m.observe('seconds', v, { role: 'inference' })
    const text = m.render()
    expect(text).toContain('# TYPE t_seconds histogram')
    expect(text).toContain('t_runs_total{mode="optimistic"} 3')
    expect(text).toContain('t_level{level="FINAL"} 7')
    // Bucket counts are cumulative: value ≤ bound.
    expect(text).toContain('t_seconds_bucket{role="inference",le="0.1"} 2')
    expect(text).toContain('t_seconds_bucket{role="inference",le="1"} 3')
    expect(text).toContain('t_seconds_bucket{role="inference",le="10"} 4')
    expect(text).toContain('t_seconds_bucket{role="inference",le="+Inf"} 5')
    expect(text).toContain('t_seconds_count{role="inference"} 5')
    expect(text).toMatch(/^t_seconds_sum\{role="inference"\} 33\.65\d*$/m)
    expect(m.value('runs_total', { mode: 'optimistic' })).toBe(3)
  })

  it('sets a whole histogram from cumulative counts, and refuses counts that do not fit its buckets', () => {
    const m = new Metrics('t')
    m.define('gap', 'histogram', 'Gap', [1, 2])
    m.setHistogram('gap', [1, 3], 4.5, 4)
    expect(m.render()).toContain('t_gap_bucket{le="2"} 3\nt_gap_bucket{le="+Inf"} 4\nt_gap_sum 4.5\nt_gap_count 4')
    expect(() => m.setHistogram('gap', [1], 1, 1)).toThrow(/2 buckets, found 1/)
    expect(() => m.observe('missing', 1)).toThrow(/not defined/)
    expect(() => m.inc('gap')).toThrow(/not defined as a counter or gauge/)
  })

  it('refuses names promtool rejects: a counter without _total, a gauge with it, a reserved suffix, camelCase', () => {
    const m = new Metrics('t')
    expect(() => m.define('inference_seconds_sum', 'counter', 'x')).toThrow(/must end in _total/)
    expect(() => m.define('level_total', 'gauge', 'x')).toThrow(/must not end in _total/)
    expect(() => m.define('runs_count', 'gauge', 'x')).toThrow(/reserved to histogram/)
    expect(() => m.define('runsTotal_total', 'counter', 'x')).toThrow(/snake_case/)
  })

  it('the lint flags what promtool check metrics flags, and passes what Metrics renders', () => {
    // What an inference node exposed before (promtool 2.42: "counter metrics should have _total suffix",
    // "non-histogram and non-summary metrics should not have _sum suffix").
    const old = [
      '# HELP verity_node_inference_seconds_sum Total time',
      '# TYPE verity_node_inference_seconds_sum counter',
      'verity_node_inference_seconds_sum 1.5',
    ].join('\n')
    expect(lintMetrics(old)).toEqual([
      'verity_node_inference_seconds_sum: counter metrics should have "_total" suffix',
      'verity_node_inference_seconds_sum: non-histogram and non-summary metrics should not have "_sum" suffix',
    ])
    const bad = ['# TYPE a_total counter', 'a_total 1', 'runs 2', '# HELP c_ms x', '# TYPE c_ms gauge', 'c_ms{le="1"} x'].join('\n')
    expect(lintMetrics(bad)).toEqual([
      'runs: sample without a TYPE line',
      'line 6: value "x" is not a number',
      'c_ms: "le" is reserved to histograms',
      'a_total: no help text',
      'runs: no help text',
      'c_ms: metric names should not contain abbreviated units',
    ])
    const m = new Metrics('t')
    m.define('runs_total', 'counter', 'Runs')
    m.define('level', 'gauge', 'Level')
    m.define('seconds', 'histogram', 'Seconds', [0.1, 1])
    m.inc('runs_total', { mode: 'optimistic' })
    m.observe('seconds', 0.5, { role: 'inference' })
    m.observe('seconds', 5)
    expect(lintMetrics(m.render())).toEqual([])
  })
})
