/** Formats rows as an aligned plain-text table. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))]
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)))
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ')
  return [line(cells[0] as string[]), line(widths.map((w) => '-'.repeat(w))), ...cells.slice(1).map(line)].join('\n')
}

/** A number with `digits` significant digits, in plain or exponent form. */
export function sig(v: number, digits = 4): string {
  if (v === 0) return '0'
  const a = Math.abs(v)
  return a >= 1e-3 && a < 1e6 ? Number(v.toPrecision(digits)).toString() : v.toExponential(digits - 1)
}

export function counts(o: Record<string, number>): string {
  return Object.entries(o)
    .map(([k, v]) => `${k}×${v}`)
    .join(', ')
}
