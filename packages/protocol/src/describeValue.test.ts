import { describe, expect, it } from 'vitest'
import { boundedDetails, describeValue } from './describeValue.js'

describe('describeValue: what an error message says about a caller’s value', () => {
  it('is short whatever the value’s depth, size or characters', () => {
    let deep: unknown = 1
    for (let i = 0; i < 200_000; i++) deep = [deep]
    expect(describeValue(deep)).toBe('an array of 1 item')
    expect(describeValue(Array(1e6).fill(0))).toBe('an array of 1000000 items')
    expect(describeValue('x'.repeat(5000), 10)).toBe('"xxxxxxxxxx…" (5000 characters)')
    expect(describeValue('\ud800a\u202eb\u0000')).toBe('"\\ud800a\\u202eb\\u0000"')
    expect(describeValue('💩💩💩', 2)).toBe('"💩💩…" (6 characters)')
    expect(describeValue({ a: 1, b: { c: 2 }, c: 3, d: 4, e: 5, f: 6, g: 7 })).toBe(
      'an object with keys "a", "b", "c", "d", "e" and 2 more',
    )
    expect([undefined, null, 0, -1.5, true, 10n, {}].map((v) => describeValue(v))).toEqual([
      'nothing',
      'null',
      '0',
      '-1.5',
      'true',
      '10',
      'an empty object',
    ])
  })

  it('bounds error details for serialization', () => {
    let deep: unknown = 1
    for (let i = 0; i < 100_000; i++) deep = { a: deep }
    const details = boundedDetails({ deep, shape: [1, 28], long: 'y'.repeat(1000), big: 5n, flat: { code: 'X', n: 1 } })
    expect(details).toEqual({
      deep: 'an object with keys "a"',
      shape: [1, 28],
      long: `${'y'.repeat(300)}… (1000 characters)`,
      big: '5',
      flat: { code: 'X', n: 1 },
    })
    expect(JSON.stringify(details).length).toBeLessThan(600)
  })
})
