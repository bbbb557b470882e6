import { describe, expect, it } from 'vitest'
import { decodeMode, encodeMode, InvalidModeError } from './mode.js'

describe('verification mode byte', () => {
  it('encodes and decodes every mode', () => {
    expect(['none', 'optimistic', 'zk', 'quorum:1', 'quorum:3', 'quorum:127'].map((m) => encodeMode(m as never))).toEqual([
      0, 1, 2, 0x81, 0x83, 0xff,
    ])
    for (const byte of [0, 1, 2, 0x81, 0x83, 0xff]) expect(encodeMode(decodeMode(byte))).toBe(byte)
  })

  it('rejects what is not a mode, saying what it found', () => {
    for (const bad of ['quorum:0', 'quorum:128', 'quorum:x', 'fast']) {
      expect(() => encodeMode(bad as never)).toThrowError(InvalidModeError)
    }
    expect(() => encodeMode('quorum:0')).toThrow('found "quorum:0"')
    for (const bad of [3, 0x80, 0x7f, 256]) expect(() => decodeMode(bad)).toThrowError(InvalidModeError)
    try {
      decodeMode(3)
    } catch (e) {
      expect((e as InvalidModeError).code).toBe('INVALID_MODE')
    }
  })
})
