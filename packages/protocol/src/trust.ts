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
  challenges: readonly { index: number; at: number; open: boolean; challenger: string; upheldAt?: number; closedAt?: number }[]
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
    return { level: 'OVERTURNED', attestations, timeline: sorted(timeline) }
  }
  // A challenge closed without upholding (rejected, redundant, expired): once none is open, the
  // receipt is back where its attestations put it, from the moment the last one closed.
  const open = mine.some((c) => c.open)
  const lastClosed = Math.max(...mine.filter((c) => !c.open && c.closedAt !== undefined).map((c) => c.closedAt!))
  const settled = attestations > 0 ? 'ATTESTED' : 'COMMITTED'
  if (!open && mine.length > 0 && Number.isFinite(lastClosed)) timeline.push({ level: settled, at: lastClosed, attestations })
  if (state.finalizedAt !== undefined) {
    timeline.push({ level: 'FINAL', at: state.finalizedAt })
    return { level: 'FINAL', attestations, timeline: sorted(timeline) }
  }
  return { level: open ? 'DISPUTED' : settled, attestations, timeline: sorted(timeline) }
}

/** The timeline in time order (a stable sort: at equal times, the order the steps were derived in). */
const sorted = (timeline: TrustEvent[]) =>
  timeline
    .map((e, i) => [e, i] as const)
    .sort((x, y) => x[0].at - y[0].at || x[1] - y[1])
    .map(([e]) => e)

/**
 * A Settlement event about one batch, in the form every role records it (`at` in ms): what
 * `receiptChainState` folds into the input of `trustOf`. Node, SDK, dashboard and devnet all
 * derive trust through these two functions.
 */
export type BatchTrustEvent =
  | { kind: 'attested'; at: number; verifier: string; bitmap: readonly bigint[] }
  | { kind: 'challenged'; at: number; challengeId: string; index: number; challenger: string }
  | { kind: 'overturned' | 'rejected' | 'redundant' | 'expired'; at: number; challengeId: string }
  | { kind: 'finalized'; at: number }

/**
 * The chain's view of one receipt from its batch's events. "Executed at" is the receipt's signed
 * `issuedAt` (seconds), the one clock every role uses for it.
 */
export function receiptChainState(parameters: {
  issuedAt: bigint | number
  commit?: { batchId: number; index: number; at: number } | undefined
  events: readonly BatchTrustEvent[]
}): ReceiptChainState {
  const executedAt = Number(parameters.issuedAt) * 1000
  if (!parameters.commit) return { executedAt, attestations: [], challenges: [] }
  const closedAt = new Map<string, number>()
  const upheldAt = new Map<string, number>()
  let finalizedAt: number | undefined
  for (const e of parameters.events) {
    if (e.kind === 'finalized') finalizedAt ??= e.at
    else if (e.kind === 'overturned' || e.kind === 'rejected' || e.kind === 'redundant' || e.kind === 'expired') {
      if (!closedAt.has(e.challengeId)) closedAt.set(e.challengeId, e.at)
      if (e.kind === 'overturned' && !upheldAt.has(e.challengeId)) upheldAt.set(e.challengeId, e.at)
    }
  }
  return {
    executedAt,
    commit: parameters.commit,
    attestations: parameters.events.flatMap((e) => (e.kind === 'attested' ? [{ verifier: e.verifier, at: e.at, bitmap: e.bitmap }] : [])),
    challenges: parameters.events.flatMap((e) =>
      e.kind === 'challenged'
        ? [
            {
              index: e.index,
              at: e.at,
              open: !closedAt.has(e.challengeId),
              challenger: e.challenger,
              ...(closedAt.has(e.challengeId) ? { closedAt: closedAt.get(e.challengeId)! } : {}),
              ...(upheldAt.has(e.challengeId) ? { upheldAt: upheldAt.get(e.challengeId)! } : {}),
            },
          ]
        : [],
    ),
    ...(finalizedAt !== undefined ? { finalizedAt } : {}),
  }
}

/** Settlement event names `batchTrustEventOf` understands. */
export const TRUST_EVENT_NAMES = [
  'Attested',
  'ChallengeOpened',
  'ReceiptOverturned',
  'ChallengeRejected',
  'ChallengeRedundant',
  'ChallengeExpired',
  'BatchFinalized',
] as const

/** A decoded Settlement log (viem's `eventName` and `args`) as a `BatchTrustEvent` at `at` ms; undefined for other events. */
export function batchTrustEventOf(log: { eventName: string; args: unknown }, at: number): BatchTrustEvent | undefined {
  const a = log.args as Record<string, unknown>
  const challengeId = String(a.challengeId)
  switch (log.eventName) {
    case 'Attested':
      return { kind: 'attested', at, verifier: String(a.verifier), bitmap: a.bitmap as readonly bigint[] }
    case 'ChallengeOpened':
      return { kind: 'challenged', at, challengeId, index: Number(a.receiptIndex), challenger: String(a.challenger) }
    case 'ReceiptOverturned':
      return { kind: 'overturned', at, challengeId }
    case 'ChallengeRejected':
      return { kind: 'rejected', at, challengeId }
    case 'ChallengeRedundant':
      return { kind: 'redundant', at, challengeId }
    case 'ChallengeExpired':
      return { kind: 'expired', at, challengeId }
    case 'BatchFinalized':
      return { kind: 'finalized', at }
    default:
      return undefined
  }
}

/** Whether `level` has reached `target` (FINAL ⊇ ATTESTED ⊇ COMMITTED ⊇ EXECUTED; DISPUTED and OVERTURNED only themselves). */
export function reached(level: TrustLevel, target: TrustLevel): boolean {
  if (target === 'DISPUTED' || level === 'DISPUTED' || target === 'OVERTURNED' || level === 'OVERTURNED') return level === target
  return TRUST_ORDER.indexOf(level) >= TRUST_ORDER.indexOf(target)
}
