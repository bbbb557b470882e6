/** A small Prometheus text-format registry: counters and gauges with labels. */
export class Metrics {
  private readonly values = new Map<string, { help: string; type: 'counter' | 'gauge'; series: Map<string, number> }>()

  constructor(private readonly prefix: string) {}

  define(name: string, type: 'counter' | 'gauge', help: string): void {
    if (!this.values.has(name)) this.values.set(name, { help, type, series: new Map() })
  }

  inc(name: string, labels: Record<string, string> = {}, by = 1): void {
    const metric = this.values.get(name)
    if (!metric) throw new Error(`metric ${name} is not defined`)
    const key = labelKey(labels)
    metric.series.set(key, (metric.series.get(key) ?? 0) + by)
  }

  set(name: string, value: number, labels: Record<string, string> = {}): void {
    const metric = this.values.get(name)
    if (!metric) throw new Error(`metric ${name} is not defined`)
    metric.series.set(labelKey(labels), value)
  }

  render(): string {
    const lines: string[] = []
    for (const [name, metric] of this.values) {
      const full = `${this.prefix}_${name}`
      lines.push(`# HELP ${full} ${metric.help}`, `# TYPE ${full} ${metric.type}`)
      if (metric.series.size === 0 && metric.type === 'counter') lines.push(`${full} 0`)
      for (const [labels, value] of metric.series) lines.push(`${full}${labels} ${value}`)
    }
    return `${lines.join('\n')}\n`
  }
}

function labelKey(labels: Record<string, string>): string {
  const entries = Object.entries(labels)
  if (entries.length === 0) return ''
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`).join(',')}}`
}
