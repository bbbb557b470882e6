import { type ReceiptChainState, type TrustLevel, trustOf } from '@verity/contracts'
import type { ReceiptStore, StoredInference } from './receiptStore.js'

/** The chain's view of a stored receipt, from the events the node recorded (input to `trustOf`). */
export function chainStateOf(store: ReceiptStore, inference: StoredInference): ReceiptChainState {
  const state: ReceiptChainState = { executedAt: inference.executedAtMs, attestations: [], challenges: [] }
  if (inference.batchLocal === null) return state
  const batch = store.batchByLocal(inference.batchLocal)
  if (!batch || batch.batchId === null || batch.committedAt === null) return state
  const events = store.batchEvents(batch.batchId)
  const closedBy = (kinds: string[]) =>
    new Map(events.filter((e) => kinds.includes(e.kind)).map((e) => [(e.data as { challengeId: string }).challengeId, e.at]))
  const closed = closedBy(['expired', 'overturned', 'rejected'])
  const overturned = closedBy(['overturned'])
  return {
    executedAt: inference.executedAtMs,
    commit: { batchId: batch.batchId, index: inference.batchIndex!, at: batch.committedAt * 1000 },
    attestations: events
      .filter((e) => e.kind === 'attested')
      .map((e) => ({ verifier: e.actor, at: e.at * 1000, bitmap: (e.data as { bitmap: string[] }).bitmap.map(BigInt) })),
    challenges: events
      .filter((e) => e.kind === 'challenged')
      .map((e) => {
        const data = e.data as { challengeId: string; index: number }
        const upheldAt = overturned.get(data.challengeId)
        return {
          index: data.index,
          at: e.at * 1000,
          open: !closed.has(data.challengeId),
          challenger: e.actor,
          ...(upheldAt === undefined ? {} : { upheldAt: upheldAt * 1000 }),
        }
      }),
    ...(batch.status === 'finalized'
      ? { finalizedAt: (batch.finalizedAt ?? events.find((e) => e.kind === 'finalized')?.at ?? 0) * 1000 }
      : {}),
  }
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
      for (const inference of store.batchInferences(batch.localId)) counts[trustOf(chainStateOf(store, inference)).level]++
    }
  }
  return counts
}
