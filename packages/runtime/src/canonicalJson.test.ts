import { describe, expect, it } from 'vitest'
import { canonicalJson } from './canonicalJson.js'

describe('canonicalJson', () => {
  it('sorts keys at every depth, drops undefined, keeps array order', () => {
    expect(canonicalJson({ b: 1, a: [3, { d: 0.1, c: undefined, a: 'x' }], c: null })).toBe('{"a":[3,{"a":"x","d":0.1}],"b":1,"c":null}')
  })
  it('refuses non-finite numbers', () => {
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(/NaN/)
  })
})
