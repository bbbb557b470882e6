import { type AddressBook, type Chain, followEvents, memoryCursor } from '@verity/chain'
import { type BatchTrustEvent, batchTrustEventOf, receiptChainState, settlementAbi, type TrustLevel, trustOf } from '@verity/contracts'

type BatchSeen = { committedAt?: number; events: BatchTrustEvent[] }

/**
 * Follows Settlement events and notes the wall-clock time each one is first seen (polling every
 * 50 ms), so the trust gap of every receipt can be measured without loading the nodes. A receipt's
 * level and the times it reached each level follow from its batch's events through the same
 * `receiptChainState` and `trustOf` every role uses.
 */
export function createTrustTracker(parameters: { chain: Chain; book: AddressBook; fromBlock: bigint }) {
  const batches = new Map<number, BatchSeen>()
  const of = (batchId: unknown) => {
    let b = batches.get(Number(batchId))
    if (!b) {
      b = { events: [] }
      batches.set(Number(batchId), b)
    }
    return b
  }
  const follower = followEvents({
    chain: parameters.chain,
    abi: settlementAbi,
    address: parameters.book.contracts.settlement,
    fromBlock: parameters.fromBlock,
    cursor: memoryCursor(),
    pollIntervalMs: 50,
    onLogs(logs) {
      const now = Date.now()
      for (const log of logs) {
        if (log.eventName === 'BatchCommitted') of(log.args.batchId).committedAt ??= now
        const event = batchTrustEventOf(log, now)
        if (event) of((log.args as { batchId: bigint }).batchId).events.push(event)
      }
    },
  })
  return {
    /**
     * Receipt `index` of `batchId`: its level now and when it was first seen at each level (wall
     * clock, ms; EXECUTED is the caller's own).
     */
    trust(batchId: number, index: number): { level: TrustLevel; reached: Partial<Record<TrustLevel, number>> } {
      const b = batches.get(batchId)
      if (b?.committedAt === undefined) return { level: 'EXECUTED', reached: {} }
      const t = trustOf(receiptChainState({ issuedAt: 0, commit: { batchId, index, at: b.committedAt }, events: b.events }))
      const reached: Partial<Record<TrustLevel, number>> = {}
      for (const e of t.timeline) if (e.level !== 'EXECUTED') reached[e.level] ??= e.at
      return { level: t.level, reached }
    },
    /** Every batch seen so far, with whether it is finalized. */
    batches: () =>
      [...batches].map(([batchId, b]) => ({
        batchId,
        committed: b.committedAt !== undefined,
        finalized: b.events.some((e) => e.kind === 'finalized'),
        challenged: b.events.some((e) => e.kind === 'challenged'),
      })),
    stop: () => follower.stop(),
  }
}
