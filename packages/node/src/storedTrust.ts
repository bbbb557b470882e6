import { type BatchTrustEvent, type ReceiptChainState, receiptChainState, type TrustLevel, trustOf } from '@verity/protocol'
import type { ReceiptStore, StoredBatch, StoredInference } from './receiptStore.js'

/**
 * The chain's view of a stored receipt, from the events the node recorded (input to `trustOf`),
 * folded by the same `receiptChainState` every role uses; executed at = the receipt's `issuedAt`.
 */
export function chainStateOf(store: ReceiptStore, inference: StoredInference): ReceiptChainState {
  return chainStateIn(batchTrustOf(store, inference.batchLocal), inference)
}

/** What the chain said about one batch (by local id), as `chainStateIn` reads it: read once for all its receipts. */
export type BatchTrust = { batch: StoredBatch; events: BatchTrustEvent[] } | undefined

export function batchTrustOf(store: ReceiptStore, batchLocal: number | null): BatchTrust {
  const batch = batchLocal === null ? undefined : store.batchByLocal(batchLocal)
  if (!batch || batch.batchId === null || batch.committedAt === null) return undefined
  const events = store.batchEvents(batch.batchId).flatMap((e): BatchTrustEvent[] => {
    const at = e.at * 1000
    const data = e.data as { challengeId?: string; index?: number; bitmap?: string[] }
    switch (e.kind) {
      case 'attested':
        return [{ kind: 'attested', at, verifier: e.actor, bitmap: (data.bitmap ?? []).map(BigInt) }]
      case 'challenged':
        return [{ kind: 'challenged', at, challengeId: data.challengeId!, index: data.index!, challenger: e.actor }]
      case 'overturned':
      case 'rejected':
      case 'redundant':
      case 'expired':
        return [{ kind: e.kind, at, challengeId: data.challengeId! }]
      case 'finalized':
        return [{ kind: 'finalized', at }]
      default:
        return []
    }
  })
  // A batch marked finalized before its event was recorded (an older database) still settles.
  if (batch.status === 'finalized' && !events.some((e) => e.kind === 'finalized'))
    events.push({ kind: 'finalized', at: (batch.finalizedAt ?? 0) * 1000 })
  return { batch, events }
}

/** A receipt's chain state given its batch's (`batchTrustOf` of its `batchLocal`). */
export function chainStateIn(trust: BatchTrust, inference: Pick<StoredInference, 'issuedAt' | 'batchIndex'>): ReceiptChainState {
  if (!trust) return receiptChainState({ issuedAt: inference.issuedAt, events: [] })
  return receiptChainState({
    issuedAt: inference.issuedAt,
    commit: { batchId: trust.batch.batchId!, index: inference.batchIndex!, at: trust.batch.committedAt! * 1000 },
    events: trust.events,
  })
}

/**
 * How many of the node's receipts are at each trust level now: settled batches are counted in SQL,
 * only the receipts of batches still in their window go through `trustOf` one by one.
 */
export function receiptLevels(store: ReceiptStore): Record<TrustLevel, number> {
  const counts: Record<TrustLevel, number> = { EXECUTED: 0, COMMITTED: 0, ATTESTED: 0, DISPUTED: 0, OVERTURNED: 0, FINAL: 0 }
  counts.EXECUTED = store.uncommittedCount()
  const settled = store.db
    .prepare(
      `SELECT COALESCE(SUM(count), 0) AS receipts,
              (SELECT COUNT(*) FROM batch_events e JOIN batches f ON f.batch_id = e.batch_id WHERE e.kind = 'overturned' AND f.status = 'finalized') AS overturned
       FROM batches WHERE status = 'finalized'`,
    )
    .get() as { receipts: number; overturned: number }
  counts.OVERTURNED = settled.overturned
  counts.FINAL = settled.receipts - settled.overturned
  for (const status of ['committed', 'challenged'] as const) {
    for (const batch of store.batchesWithStatus(status)) {
      for (const inference of store.batchInferences(batch.localId))
        if (inference.decoySecret === null) counts[trustOf(chainStateOf(store, inference)).level]++
    }
  }
  return counts
}
