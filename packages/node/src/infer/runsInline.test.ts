import { describe, expect, it } from 'vitest'
import { runsInline } from './runsInline.js'

describe('runsInline', () => {
  it('runs inline a lone request on a model whose fastest recent run was quick, even if the machine slowed one down', () => {
    expect(runsInline({ answering: 1, recentRunMs: [0.2], maxMs: 1 })).toBe(true)
    expect(runsInline({ answering: 1, recentRunMs: [1], maxMs: 1 })).toBe(true)
    expect(runsInline({ answering: 1, recentRunMs: [0.3, 12.5, 0.25], maxMs: 1 })).toBe(true)
  })

  it('sends to the worker: another request in flight, an unknown or slow model, or inline runs turned off', () => {
    expect(runsInline({ answering: 2, recentRunMs: [0.2], maxMs: 1 })).toBe(false)
    expect(runsInline({ answering: 1, recentRunMs: undefined, maxMs: 1 })).toBe(false)
    expect(runsInline({ answering: 1, recentRunMs: [], maxMs: 1 })).toBe(false)
    expect(runsInline({ answering: 1, recentRunMs: [1.01, 40], maxMs: 1 })).toBe(false)
    expect(runsInline({ answering: 1, recentRunMs: [0], maxMs: 0 })).toBe(false)
  })
})
