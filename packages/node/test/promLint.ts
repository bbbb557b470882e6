/**
 * The checks `promtool check metrics` applies to a Prometheus text exposition (its parser, then
 * client_golang's promlint), written out so the tests need no promtool: a family has HELP and TYPE
 * before its samples; names and label names are valid and snake_case; a counter ends in `_total` and
 * nothing else does; `_sum`, `_count`, `_bucket` are reserved to histograms and summaries, `le` to
 * histograms, `quantile` to summaries; no type name or abbreviated or non-base unit in a name; every
 * value is a number; a histogram series has ascending `le` buckets ending in `+Inf`, cumulative
 * counts, and `_count` equal to its `+Inf` bucket. Returns one line per problem.
 */
export function lintMetrics(text: string): string[] {
  const problems: string[] = []
  const families = new Map<string, { type?: string; help?: string; samples: number }>()
  const family = (name: string) => {
    let f = families.get(name)
    if (!f) {
      f = { samples: 0 }
      families.set(name, f)
    }
    return f
  }
  const histograms = new Map<string, { le: number[]; counts: number[]; count?: number }>()
  const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
  const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/
  const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"(,|$)/
  const familyOf = (name: string) => {
    for (const suffix of ['_bucket', '_sum', '_count']) {
      const base = name.slice(0, -suffix.length)
      if (name.endsWith(suffix) && ['histogram', 'summary'].includes(families.get(base)?.type ?? '')) return base
    }
    return name
  }
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '') continue
    const at = `line ${i + 1}`
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line)
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string]
      if (!NAME.test(name)) problems.push(`${at}: invalid metric name "${name}"`)
      const f = family(name)
      if (f.samples > 0) problems.push(`${name}: ${kind} after its samples`)
      if (kind === 'HELP') f.help = rest
      else if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) problems.push(`${name}: unknown type "${rest}"`)
      else f.type = rest
      continue
    }
    if (line.startsWith('#')) continue
    const sample = SAMPLE.exec(line)
    if (!sample) {
      problems.push(`${at}: not a sample: ${line}`)
      continue
    }
    const [, name, , labelText = '', value] = sample as unknown as [string, string, string, string | undefined, string]
    const labels: Record<string, string> = {}
    for (let rest = labelText; rest !== ''; ) {
      const label = LABEL.exec(rest)
      if (!label) {
        problems.push(`${at}: malformed labels {${labelText}}`)
        break
      }
      labels[label[1]!] = label[2]!
      rest = rest.slice(label[0].length)
    }
    if (!/^([-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|NaN|[-+]Inf)$/.test(value)) problems.push(`${at}: value "${value}" is not a number`)
    const base = familyOf(name)
    const f = families.get(base)
    if (!f?.type) problems.push(`${name}: sample without a TYPE line`)
    family(base).samples++
    if (f?.type === 'histogram') {
      const { le, ...rest } = labels
      const key = `${base}${JSON.stringify(rest)}`
      const h = histograms.get(key) ?? { le: [], counts: [] }
      histograms.set(key, h)
      if (name.endsWith('_bucket')) {
        if (le === undefined) problems.push(`${name}: histogram bucket without "le"`)
        else {
          h.le.push(le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le))
          h.counts.push(Number(value))
        }
      } else if (name.endsWith('_count')) h.count = Number(value)
    } else {
      if ('le' in labels) problems.push(`${name}: "le" is reserved to histograms`)
      if ('quantile' in labels && f?.type !== 'summary') problems.push(`${name}: "quantile" is reserved to summaries`)
    }
    for (const label of Object.keys(labels))
      if (/[A-Z]/.test(label)) problems.push(`${name}: label names should be written in 'snake_case' not 'camelCase'`)
  }
  for (const [name, f] of families) {
    if (!f.help) problems.push(`${name}: no help text`)
    if (f.type === 'counter' && !name.endsWith('_total')) problems.push(`${name}: counter metrics should have "_total" suffix`)
    if (f.type !== 'counter' && name.endsWith('_total')) problems.push(`${name}: non-counter metrics should not have "_total" suffix`)
    if (f.type !== 'histogram' && f.type !== 'summary')
      for (const suffix of ['_sum', '_count', '_bucket'])
        if (name.endsWith(suffix)) problems.push(`${name}: non-histogram and non-summary metrics should not have "${suffix}" suffix`)
    if (/[A-Z]/.test(name)) problems.push(`${name}: metric names should be written in 'snake_case' not 'camelCase'`)
    const lower = name.toLowerCase()
    for (const type of ['counter', 'gauge', 'histogram', 'summary', 'untyped'])
      if (lower.includes(`_${type}_`) || lower.endsWith(`_${type}`)) problems.push(`${name}: metric name should not include type '${type}'`)
    const parts = lower.split('_')
    for (const unit of ['s', 'ms', 'us', 'ns', 'sec', 'b', 'kb', 'mb', 'gb', 'tb', 'pb', 'm', 'h', 'd'])
      if (parts.includes(unit)) problems.push(`${name}: metric names should not contain abbreviated units`)
    const nonBase: Record<string, string> = {
      milliseconds: 'seconds',
      microseconds: 'seconds',
      nanoseconds: 'seconds',
      minutes: 'seconds',
      hours: 'seconds',
      days: 'seconds',
      kilobytes: 'bytes',
      megabytes: 'bytes',
      gigabytes: 'bytes',
      fahrenheit: 'celsius',
    }
    for (const part of parts) if (part in nonBase) problems.push(`${name}: use base unit "${nonBase[part]}" instead of "${part}"`)
  }
  for (const [key, h] of histograms) {
    const sorted = h.le.every((v, i) => i === 0 || v > h.le[i - 1]!)
    const cumulative = h.counts.every((v, i) => i === 0 || v >= h.counts[i - 1]!)
    if (!sorted || h.le.at(-1) !== Number.POSITIVE_INFINITY) problems.push(`${key}: buckets not in ascending "le" order ending with +Inf`)
    if (!cumulative) problems.push(`${key}: bucket counts are not cumulative`)
    if (h.count !== h.counts.at(-1)) problems.push(`${key}: _count ${h.count} differs from the +Inf bucket ${h.counts.at(-1)}`)
  }
  return problems
}
