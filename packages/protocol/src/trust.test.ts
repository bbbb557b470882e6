import { describe, expect, it } from 'vitest'
import { type BatchTrustEvent, batchTrustEventOf, reached, receiptChainState, trustOf } from './trust.js'

const ISSUED = 1_700_000_000n
const T0 = Number(ISSUED) * 1000
const commit = { batchId: 4, index: 2, at: T0 + 1000 }
const attest = (at: number, indexes: number[], verifier = 'v1'): BatchTrustEvent => ({
  kind: 'attested',
  at,
  verifier,
  bitmap: [
    indexes.filter((i) => i < 256).reduce((w, i) => w | (1n << BigInt(i)), 0n),
    indexes.filter((i) => i >= 256).reduce((w, i) => w | (1n << BigInt(i - 256)), 0n),
  ],
})
const open = (at: number, challengeId: string, index = 2): BatchTrustEvent => ({
  kind: 'challenged',
  at,
  challengeId,
  index,
  challenger: 'c1',
})
const close = (kind: 'overturned' | 'rejected' | 'redundant' | 'expired', at: number, challengeId: string): BatchTrustEvent => ({
  kind,
  at,
  challengeId,
})
const trust = (events: BatchTrustEvent[], c: typeof commit | null = commit) =>
  trustOf(receiptChainState({ issuedAt: ISSUED, commit: c ?? undefined, events }))
const steps = (t: ReturnType<typeof trust>) => t.timeline.map((e) => `${e.level}@${(e.at - T0) / 1000}`)

describe('trustOf(receiptChainState(events)): every transition', () => {
  it('EXECUTED at the receipt’s signed issuedAt until its batch is committed', () => {
    const t = trust([attest(T0 + 5000, [2])], null)
    expect(t).toEqual({ level: 'EXECUTED', attestations: 0, timeline: [{ level: 'EXECUTED', at: T0 }] })
  })

  it('COMMITTED, then ATTESTED once per verifier whose bitmap has the receipt', () => {
    expect(trust([]).level).toBe('COMMITTED')
    expect(trust([attest(T0 + 2000, [0, 1, 3])]).level).toBe('COMMITTED')
    const t = trust([attest(T0 + 2000, [2]), attest(T0 + 3000, [1]), attest(T0 + 4000, [2, 3], 'v2')])
    expect(t.level).toBe('ATTESTED')
    expect(t.attestations).toBe(2)
    expect(steps(t)).toEqual(['EXECUTED@0', 'COMMITTED@1', 'ATTESTED@2', 'ATTESTED@4'])
    expect(t.timeline.filter((e) => e.level === 'ATTESTED').map((e) => [e.by, e.attestations])).toEqual([
      ['v1', 1],
      ['v2', 2],
    ])
    // Bit 300 lives in the bitmap's second word.
    expect(trust([attest(T0 + 2000, [300])], { ...commit, index: 300 }).level).toBe('ATTESTED')
  })

  it('DISPUTED while a challenge against the receipt is open; a challenge of another receipt changes nothing', () => {
    expect(trust([attest(T0 + 2000, [2]), open(T0 + 3000, '1')]).level).toBe('DISPUTED')
    expect(trust([attest(T0 + 2000, [2]), open(T0 + 3000, '1', 5)]).level).toBe('ATTESTED')
  })

  for (const kind of ['rejected', 'redundant', 'expired'] as const) {
    it(`back to ATTESTED or COMMITTED after a ${kind} challenge, from when it closed`, () => {
      const attested = trust([attest(T0 + 2000, [2]), open(T0 + 3000, '1'), close(kind, T0 + 6000, '1')])
      expect(attested.level).toBe('ATTESTED')
      expect(steps(attested)).toEqual(['EXECUTED@0', 'COMMITTED@1', 'ATTESTED@2', 'DISPUTED@3', 'ATTESTED@6'])
      const committed = trust([open(T0 + 3000, '1'), close(kind, T0 + 6000, '1')])
      expect(committed.level).toBe('COMMITTED')
      expect(steps(committed)).toEqual(['EXECUTED@0', 'COMMITTED@1', 'DISPUTED@3', 'COMMITTED@6'])
    })
  }

  it('stays DISPUTED while any of its challenges is still open', () => {
    expect(trust([open(T0 + 3000, '1'), open(T0 + 4000, '2'), close('rejected', T0 + 5000, '1')]).level).toBe('DISPUTED')
    expect(
      trust([open(T0 + 3000, '1'), open(T0 + 4000, '2'), close('rejected', T0 + 5000, '1'), close('expired', T0 + 7000, '2')]).level,
    ).toBe('COMMITTED')
  })

  it('OVERTURNED once a challenge is upheld: terminal, whatever follows', () => {
    const t = trust([
      attest(T0 + 2000, [2]),
      open(T0 + 3000, '1'),
      open(T0 + 3000, '2'),
      close('overturned', T0 + 8000, '1'),
      close('redundant', T0 + 9000, '2'),
      { kind: 'finalized', at: T0 + 20_000 },
    ])
    expect(t.level).toBe('OVERTURNED')
    expect(t.attestations).toBe(1)
    expect(t.timeline.at(-1)).toEqual({ level: 'OVERTURNED', at: T0 + 8000, by: 'c1' })
    expect(t.timeline.some((e) => e.level === 'FINAL')).toBe(false)
  })

  it('FINAL when its batch settles, with or without attestations, after a rejected challenge too', () => {
    expect(trust([{ kind: 'finalized', at: T0 + 10_000 }]).level).toBe('FINAL')
    const t = trust([
      attest(T0 + 2000, [2]),
      open(T0 + 3000, '1'),
      close('rejected', T0 + 6000, '1'),
      { kind: 'finalized', at: T0 + 10_000 },
    ])
    expect(t.level).toBe('FINAL')
    expect(steps(t)).toEqual(['EXECUTED@0', 'COMMITTED@1', 'ATTESTED@2', 'DISPUTED@3', 'ATTESTED@6', 'FINAL@10'])
  })

  it('reads each Settlement event and ignores others', () => {
    const at = 5
    expect(batchTrustEventOf({ eventName: 'Attested', args: { verifier: '0xv', bitmap: [4n] } }, at)).toEqual({
      kind: 'attested',
      at,
      verifier: '0xv',
      bitmap: [4n],
    })
    expect(batchTrustEventOf({ eventName: 'ChallengeOpened', args: { challengeId: 7n, receiptIndex: 3, challenger: '0xc' } }, at)).toEqual({
      kind: 'challenged',
      at,
      challengeId: '7',
      index: 3,
      challenger: '0xc',
    })
    for (const [eventName, kind] of [
      ['ReceiptOverturned', 'overturned'],
      ['ChallengeRejected', 'rejected'],
      ['ChallengeRedundant', 'redundant'],
      ['ChallengeExpired', 'expired'],
    ] as const)
      expect(batchTrustEventOf({ eventName, args: { challengeId: 7n } }, at)).toEqual({ kind, at, challengeId: '7' })
    expect(batchTrustEventOf({ eventName: 'BatchFinalized', args: {} }, at)).toEqual({ kind: 'finalized', at })
    expect(batchTrustEventOf({ eventName: 'Claimed', args: {} }, at)).toBeUndefined()
  })

  it('reached: FINAL ⊇ ATTESTED ⊇ COMMITTED ⊇ EXECUTED; DISPUTED and OVERTURNED only themselves', () => {
    expect(reached('FINAL', 'ATTESTED')).toBe(true)
    expect(reached('COMMITTED', 'ATTESTED')).toBe(false)
    expect(reached('DISPUTED', 'COMMITTED')).toBe(false)
    expect(reached('OVERTURNED', 'OVERTURNED')).toBe(true)
    expect(reached('FINAL', 'DISPUTED')).toBe(false)
  })
})
