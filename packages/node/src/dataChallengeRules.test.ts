import { tensorBytes } from '@verity/runtime'
import { toHex } from 'viem'
import { describe, expect, it } from 'vitest'
import { dataChallengeDelay, int16FromHex } from './dataChallengeRules.js'

describe('dataChallengeDelay: when withheld data is challenged', () => {
  it('is halfway through the window when the response time leaves room, earlier when it does not', () => {
    // The derived defaults (docs/economics.md): an hour's window, ten minutes to answer.
    expect(dataChallengeDelay({ challengeWindow: 3600, dataResponseTime: 600 })).toBe(1800)
    // The devnet (response time = half the window): a tenth of the window (≥ 1 s) before halfway.
    expect(dataChallengeDelay({ challengeWindow: 30, dataResponseTime: 15 })).toBe(12)
    expect(dataChallengeDelay({ challengeWindow: 6, dataResponseTime: 3 })).toBe(2)
    // A response time as long as the window: challenge at once (the node's answer still lands late; docs/protocol.md).
    expect(dataChallengeDelay({ challengeWindow: 10, dataResponseTime: 10 })).toBe(0)
  })

  it('leaves an answer at the deadline inside the window, with time to re-execute, whenever the parameters allow it', () => {
    for (const challengeWindow of [6, 10, 30, 600, 3600])
      for (const dataResponseTime of [1, 3, 5, 15, 300, 600, 1800]) {
        if (dataResponseTime + Math.max(1, challengeWindow / 10) > challengeWindow) continue
        const at = dataChallengeDelay({ challengeWindow, dataResponseTime })
        expect(at + dataResponseTime + Math.max(1, challengeWindow / 10)).toBeLessThanOrEqual(challengeWindow)
        expect(at).toBeLessThanOrEqual(challengeWindow / 2)
      }
  })
})

describe('int16FromHex', () => {
  it('reads the canonical bytes publishData carries back into the tensor', () => {
    const tensor = Int16Array.from([0, 1, -1, 32767, -32768, 258])
    expect(Array.from(int16FromHex(toHex(tensorBytes(tensor))))).toEqual(Array.from(tensor))
    expect(int16FromHex('0x')).toEqual(new Int16Array(0))
  })
})
