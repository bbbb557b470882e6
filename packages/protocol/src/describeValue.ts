/**
 * A short, bounded description of a value a caller sent, for error messages: never recursive
 * beyond one level, never longer than about `max` characters, whatever the value's size, depth or
 * characters (a message must not cost more than the request, nor fail on a value it describes).
 *
 * @example
 * describeValue([[[1]]]) // 'an array of 1 item'
 * describeValue('x'.repeat(5000), 20) // '"xxxxxxxxxxxxxxxxxxxx…" (5000 characters)'
 */
export function describeValue(value: unknown, max = 80): string {
  if (value === undefined) return 'nothing'
  if (value === null) return 'null'
  if (typeof value === 'string') {
    const chars = Array.from(value.length > max * 2 ? value.slice(0, max * 2) : value)
    // Lone surrogates, control and direction characters as escapes: the message stays valid, printable text.
    const shown = chars.slice(0, max).map(printable).join('')
    return value.length > max || chars.length > max ? `"${shown}…" (${value.length} characters)` : `"${shown}"`
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value)
  if (Array.isArray(value)) return `an array of ${value.length} item${value.length === 1 ? '' : 's'}`
  if (typeof value === 'object') {
    const keys: string[] = []
    let count = 0
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue
      if (count++ < 5) keys.push(describeValue(key, 20))
    }
    return count === 0 ? 'an empty object' : `an object with keys ${keys.join(', ')}${count > 5 ? ` and ${count - 5} more` : ''}`
  }
  return typeof value
}

/**
 * Error details safe to serialize whatever the caller sent: primitives and short arrays of
 * primitives are kept, strings are bounded, anything else is described with `describeValue`.
 */
export function boundedDetails(details: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  let n = 0
  for (const [key, value] of Object.entries(details)) {
    if (n++ >= 32) break
    out[key.slice(0, 64)] = boundedValue(value)
  }
  return out
}

function boundedValue(value: unknown): unknown {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value
  if (typeof value === 'bigint') return value.toString()
  if (typeof value === 'string') return value.length > 300 ? `${value.slice(0, 300)}… (${value.length} characters)` : value
  if (
    Array.isArray(value) &&
    value.length <= 32 &&
    value.every((v) => v === null || ['number', 'boolean', 'bigint', 'string'].includes(typeof v))
  )
    return value.map((v) => (typeof v === 'string' && v.length > 100 ? `${v.slice(0, 100)}…` : typeof v === 'bigint' ? v.toString() : v))
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    // One level of plain data (a nested error body, a proof summary): bounded the same way.
    const entries = Object.entries(value)
    if (entries.length <= 16 && entries.every(([, v]) => v === null || typeof v !== 'object'))
      return Object.fromEntries(entries.map(([k, v]) => [k.slice(0, 64), boundedValue(v)]))
  }
  return describeValue(value)
}

function printable(c: string): string {
  const code = c.codePointAt(0)!
  const hidden =
    code < 0x20 ||
    (code >= 0x7f && code <= 0x9f) ||
    (code >= 0xd800 && code <= 0xdfff) ||
    code === 0x2028 ||
    code === 0x2029 ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069) ||
    code === 0xfeff
  return hidden ? `\\u${code.toString(16).padStart(4, '0')}` : c
}
