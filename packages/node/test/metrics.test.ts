import { describe, expect, it } from 'vitest'
import { Metrics } from '../src/metrics.js'

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
})
