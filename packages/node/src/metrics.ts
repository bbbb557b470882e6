type Series = { help: string; type: 'counter' | 'gauge'; series: Map<string, number> }
type Histogram = {
  help: string
  type: 'histogram'
  buckets: readonly number[]
  series: Map<string, { counts: number[]; sum: number; count: number }>
}

/** Bucket bounds (seconds) for compute times: 1 ms … 10 s. */
export const COMPUTE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10] as const
/**
 * Bucket bounds (seconds) for trust gaps: 1 s … 1 day. Whole seconds: a gap runs from the receipt's
 * signed `issuedAt` to a block timestamp, both in seconds.
 */
export const GAP_BUCKETS = [1, 2, 5, 10, 15, 20, 30, 45, 60, 120, 300, 600, 1800, 3600, 86_400] as const

/** A small Prometheus text-format registry: counters, gauges and histograms with labels. */
export class Metrics {
  private readonly values = new Map<string, Series | Histogram>()

  constructor(private readonly prefix: string) {}

  define(name: string, type: 'counter' | 'gauge', help: string): void
  define(name: string, type: 'histogram', help: string, buckets: readonly number[]): void
  define(name: string, type: 'counter' | 'gauge' | 'histogram', help: string, buckets?: readonly number[]): void {
    if (this.values.has(name)) return
    // Prometheus naming rules (`promtool check metrics`): a counter ends in _total and nothing else
    // does; _sum, _count and _bucket belong to histogram series.
    if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`metric name ${name} is not snake_case`)
    if ((type === 'counter') !== name.endsWith('_total'))
      throw new Error(`metric ${name}: ${type === 'counter' ? 'a counter must end in _total' : `a ${type} must not end in _total`}`)
    if (/_(sum|count|bucket)$/.test(name))
      throw new Error(`metric ${name}: the suffixes _sum, _count and _bucket are reserved to histogram series`)
    if (type === 'histogram') this.values.set(name, { help, type, buckets: [...buckets!].sort((a, b) => a - b), series: new Map() })
    else this.values.set(name, { help, type, series: new Map() })
  }

  inc(name: string, labels: Record<string, string> = {}, by = 1): void {
    const metric = this.scalar(name)
    const key = labelKey(labels)
    metric.series.set(key, (metric.series.get(key) ?? 0) + by)
  }

  set(name: string, value: number, labels: Record<string, string> = {}): void {
    this.scalar(name).series.set(labelKey(labels), value)
  }

  /** Records one observation in a histogram. */
  observe(name: string, value: number, labels: Record<string, string> = {}): void {
    const metric = this.values.get(name)
    if (metric?.type !== 'histogram') throw new Error(`histogram ${name} is not defined`)
    const key = labelKey(labels)
    let series = metric.series.get(key)
    if (!series) {
      series = { counts: metric.buckets.map(() => 0), sum: 0, count: 0 }
      metric.series.set(key, series)
    }
    for (const [i, bound] of metric.buckets.entries()) if (value <= bound) series.counts[i]!++
    series.sum += value
    series.count++
  }

  /** Sets a whole histogram series from cumulative counts per bucket (a figure computed elsewhere, e.g. in SQL). */
  setHistogram(name: string, cumulative: readonly number[], sum: number, count: number, labels: Record<string, string> = {}): void {
    const metric = this.values.get(name)
    if (metric?.type !== 'histogram') throw new Error(`histogram ${name} is not defined`)
    if (cumulative.length !== metric.buckets.length)
      throw new RangeError(`histogram ${name} has ${metric.buckets.length} buckets, found ${cumulative.length} counts`)
    metric.series.set(labelKey(labels), { counts: [...cumulative], sum, count })
  }

  /** The current value of a counter or gauge series (tests and tools). */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    return this.scalar(name).series.get(labelKey(labels))
  }

  render(): string {
    const lines: string[] = []
    for (const [name, metric] of this.values) {
      const full = `${this.prefix}_${name}`
      lines.push(`# HELP ${full} ${metric.help}`, `# TYPE ${full} ${metric.type}`)
      if (metric.type === 'histogram') {
        for (const [key, s] of metric.series) {
          const labels = key === '' ? '' : key.slice(1, -1)
          const withLe = (le: string) => `{${labels === '' ? '' : `${labels},`}le="${le}"}`
          for (const [i, bound] of metric.buckets.entries()) lines.push(`${full}_bucket${withLe(String(bound))} ${s.counts[i]}`)
          lines.push(`${full}_bucket${withLe('+Inf')} ${s.count}`, `${full}_sum${key} ${s.sum}`, `${full}_count${key} ${s.count}`)
        }
        continue
      }
      if (metric.series.size === 0 && metric.type === 'counter') lines.push(`${full} 0`)
      for (const [labels, value] of metric.series) lines.push(`${full}${labels} ${value}`)
    }
    return `${lines.join('\n')}\n`
  }

  private scalar(name: string): Series {
    const metric = this.values.get(name)
    if (!metric || metric.type === 'histogram') throw new Error(`metric ${name} is not defined as a counter or gauge`)
    return metric
  }
}

function labelKey(labels: Record<string, string>): string {
  const entries = Object.entries(labels)
  if (entries.length === 0) return ''
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`).join(',')}}`
}
