import { type AddressBook, type Chain, followEvents, memoryCursor } from '@verity/chain'
import { bitmapHas, settlementAbi, type TrustLevel } from '@verity/contracts'

type BatchTimes = {
  committedAt?: number
  attestations: { at: number; bitmap: readonly bigint[] }[]
  challenged: { at: number; index: number }[]
  overturned: { at: number; index: number }[]
  finalizedAt?: number
}

/**
 * Follows Settlement events and notes the wall-clock time each one is first seen (polling every
 * 50 ms), so the trust gap of every receipt can be measured without loading the nodes: a receipt's
 * levels follow from its batch and its index in it.
 */
export function createTrustTracker(parameters: { chain: Chain; book: AddressBook; fromBlock: bigint }) {
  const batches = new Map<number, BatchTimes>()
  const of = (batchId: bigint) => {
    let b = batches.get(Number(batchId))
    if (!b) {
      b = { attestations: [], challenged: [], overturned: [] }
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
        else if (log.eventName === 'Attested') of(log.args.batchId).attestations.push({ at: now, bitmap: log.args.bitmap })
        else if (log.eventName === 'ChallengeOpened') of(log.args.batchId).challenged.push({ at: now, index: log.args.receiptIndex })
        else if (log.eventName === 'BatchFinalized') of(log.args.batchId).finalizedAt ??= now
        else if (log.eventName === 'ReceiptOverturned') of(log.args.batchId).overturned.push({ at: now, index: log.args.receiptIndex })
      }
    },
  })
  return {
    /** When receipt `index` of `batchId` was first seen at each level (wall clock, ms). */
    times(batchId: number, index: number): Partial<Record<TrustLevel, number>> {
      const b = batches.get(batchId)
      if (!b) return {}
      const attested = b.attestations.filter((a) => bitmapHas(a.bitmap, index)).map((a) => a.at)
      const challenged = b.challenged.filter((c) => c.index === index).map((c) => c.at)
      const overturned = b.overturned.filter((c) => c.index === index).map((c) => c.at)
      return {
        ...(b.committedAt !== undefined ? { COMMITTED: b.committedAt } : {}),
        ...(attested.length > 0 ? { ATTESTED: Math.min(...attested) } : {}),
        ...(challenged.length > 0 ? { DISPUTED: Math.min(...challenged) } : {}),
        ...(overturned.length > 0 ? { OVERTURNED: Math.min(...overturned) } : {}),
        ...(b.finalizedAt !== undefined && overturned.length === 0 ? { FINAL: b.finalizedAt } : {}),
      }
    },
    /** Every batch seen so far, with whether it is finalized. */
    batches: () =>
      [...batches].map(([batchId, b]) => ({
        batchId,
        committed: b.committedAt !== undefined,
        finalized: b.finalizedAt !== undefined,
        challenged: b.challenged.length > 0,
      })),
    stop: () => follower.stop(),
  }
}
