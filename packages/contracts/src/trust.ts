/**
 * Trust levels of one receipt (docs/protocol.md): EXECUTED (signed by a staked node) → COMMITTED
 * (in an on-chain batch) → ATTESTED (k verifiers re-executed it) → FINAL (its batch settled); or
 * DISPUTED while a challenge against it is open; OVERTURNED once a dispute game proved it wrong (its
 * fee refunded, its node slashed) — terminal, like FINAL.
 */
export type TrustLevel = 'EXECUTED' | 'COMMITTED' | 'ATTESTED' | 'FINAL' | 'DISPUTED' | 'OVERTURNED'

export const TRUST_ORDER: readonly TrustLevel[] = ['EXECUTED', 'COMMITTED', 'ATTESTED', 'FINAL']

/** One timestamped step of a receipt's timeline (ms since the epoch). */
export type TrustEvent = { level: TrustLevel; at: number; by?: string; attestations?: number; batchId?: number }

export type ReceiptChainState = {
  /** Executed (signed) at, ms. */
  executedAt: number
  commit?: { batchId: number; index: number; at: number }
  /** Attestations of the batch: who, when, and the bitmap words (bit i of word i/256 = receipt i). */
  attestations: readonly { verifier: string; at: number; bitmap: readonly bigint[] }[]
  /** Challenges against receipts of the batch, with whether they are still open. */
  challenges: readonly { index: number; at: number; open: boolean; challenger: string; upheldAt?: number }[]
  finalizedAt?: number
}

/** Whether receipt `index` is set in an attestation bitmap. */
export function bitmapHas(bitmap: readonly bigint[], index: number): boolean {
  const word = bitmap[index >> 8]
  return word !== undefined && ((word >> BigInt(index & 255)) & 1n) === 1n
}

/** The current level and the timeline of a receipt, from the chain's view of its batch. Pure. */
export function trustOf(state: ReceiptChainState): { level: TrustLevel; attestations: number; timeline: TrustEvent[] } {
  const timeline: TrustEvent[] = [{ level: 'EXECUTED', at: state.executedAt }]
  if (!state.commit) return { level: 'EXECUTED', attestations: 0, timeline }
  const { index, batchId } = state.commit
  timeline.push({ level: 'COMMITTED', at: state.commit.at, batchId })
  let attestations = 0
  for (const a of [...state.attestations].sort((x, y) => x.at - y.at)) {
    if (!bitmapHas(a.bitmap, index)) continue
    attestations++
    timeline.push({ level: 'ATTESTED', at: a.at, by: a.verifier, attestations })
  }
  const mine = state.challenges.filter((c) => c.index === index)
  for (const c of mine) timeline.push({ level: 'DISPUTED', at: c.at, by: c.challenger })
  const upheld = mine.find((c) => c.upheldAt !== undefined)
  if (upheld) {
    timeline.push({ level: 'OVERTURNED', at: upheld.upheldAt!, by: upheld.challenger })
    return { level: 'OVERTURNED', attestations, timeline }
  }
  if (state.finalizedAt !== undefined) {
    timeline.push({ level: 'FINAL', at: state.finalizedAt })
    return { level: 'FINAL', attestations, timeline }
  }
  if (mine.some((c) => c.open)) return { level: 'DISPUTED', attestations, timeline }
  return { level: attestations > 0 ? 'ATTESTED' : 'COMMITTED', attestations, timeline }
}

/** Whether `level` has reached `target` (FINAL ⊇ ATTESTED ⊇ COMMITTED ⊇ EXECUTED; DISPUTED and OVERTURNED only themselves). */
export function reached(level: TrustLevel, target: TrustLevel): boolean {
  if (target === 'DISPUTED' || level === 'DISPUTED' || target === 'OVERTURNED' || level === 'OVERTURNED') return level === target
  return TRUST_ORDER.indexOf(level) >= TRUST_ORDER.indexOf(target)
}
