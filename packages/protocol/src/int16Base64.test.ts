import { Buffer } from 'node:buffer'
import { seededRandom } from '@verity/runtime/core'
import { describe, expect, it } from 'vitest'
import { InvalidBase64Error, int16FromBase64, int16ToBase64 } from './int16Base64.js'

const both = [{ portable: false }, { portable: true }]

describe('int16ToBase64 / int16FromBase64', () => {
  it('write every int16 value as the base64 of its little-endian bytes, and read them back', () => {
    const all = Int16Array.from({ length: 65536 }, (_, i) => i - 32768)
    const bytes = Buffer.alloc(2 * all.length)
    for (const [i, v] of all.entries()) bytes.writeInt16LE(v, 2 * i)
    for (const options of both) {
      const text = int16ToBase64(all, options)
      expect(text).toBe(bytes.toString('base64'))
      expect(int16FromBase64(text, 'raw', options)).toEqual(all)
    }
    expect(int16ToBase64(Int16Array.from([1, -2]))).toBe('AQD+/w==')
  })

  it('agree with each other and with Buffer on every length from 0 to 40, and on a view into a larger buffer', () => {
    const random = seededRandom(7)
    for (let n = 0; n <= 40; n++) {
      const t = Int16Array.from({ length: n }, () => Math.floor(random() * 65536) - 32768)
      const native = int16ToBase64(t)
      expect(int16ToBase64(t, { portable: true })).toBe(native)
      for (const options of both) expect(int16FromBase64(native, 'raw', options)).toEqual(t)
    }
    const whole = Int16Array.from([9, 8, 7, 6, 5])
    const view = whole.subarray(1, 4)
    for (const options of both) expect(int16FromBase64(int16ToBase64(view, options), 'raw', options)).toEqual(Int16Array.from([8, 7, 6]))
  })

  it('refuse, naming where and what was found, every text that is not exactly one tensor’s base64', () => {
    const cases: [string, RegExp][] = [
      ['AQD+/w=', /7 characters \(not a multiple of 4\)/], // unpadded length
      ['AQD+/w', /6 characters/],
      ['AQD+', /3 bytes \(an odd number\)/],
      ['AQ==', /1 bytes \(an odd number\)/],
      ['AQD-_w==', /"-" \(U\+002D\) at character 3, outside the base64 alphabet/], // the URL-safe alphabet
      ['AQD+ w==', /outside the base64 alphabet/],
      ['AQ=+/w==', /outside the base64 alphabet/], // padding inside
      ['AQD+/x==', /non-zero padding bits/], // a second text for [1, -2]
      ['AQDé/w==', /outside the base64 alphabet/],
      ['====', /"=" \(U\+003D\) at character 0, outside/],
      ['!!!!', /"!" \(U\+0021\) at character 0, outside/], // named, though its length is wrong too
      ['AA==AAAA', /outside the base64 alphabet/], // padding, then more
    ]
    for (const options of both)
      for (const [text, message] of cases) {
        let error: unknown
        try {
          int16FromBase64(text, 'outputs.logits.raw', options)
        } catch (e) {
          error = e
        }
        expect(error, `${text} (${JSON.stringify(options)})`).toBeInstanceOf(InvalidBase64Error)
        expect((error as InvalidBase64Error).code).toBe('INVALID_BASE64')
        expect((error as Error).message).toMatch(/^outputs\.logits\.raw: expected the base64 of int16 values/)
        expect((error as Error).message, text).toMatch(message)
      }
    expect(() => int16FromBase64(42 as unknown as string)).toThrow(InvalidBase64Error)
    expect(int16FromBase64('')).toEqual(new Int16Array(0))
  })
})
