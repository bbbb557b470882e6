import type { ReceiptChainState } from '@verity/contracts'
import type { ReceiptStore, StoredInference } from './receiptStore.js'

/** The chain's view of a stored receipt, from the events the node recorded (input to `trustOf`). */
export function chainStateOf(store: ReceiptStore, inference: StoredInference): ReceiptChainState {
  const state: ReceiptChainState = { executedAt: inference.executedAtMs, attestations: [], challenges: [] }
  if (inference.batchLocal === null) return state
  const batch = store.batchByLocal(inference.batchLocal)
  if (!batch || batch.batchId === null || batch.committedAt === null) return state
  const events = store.batchEvents(batch.batchId)
  const expired = new Set(events.filter((e) => e.kind === 'expired').map((e) => (e.data as { challengeId: string }).challengeId))
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
        return { index: data.index, at: e.at * 1000, open: !expired.has(data.challengeId), challenger: e.actor }
      }),
    ...(batch.status === 'finalized'
      ? { finalizedAt: (batch.finalizedAt ?? events.find((e) => e.kind === 'finalized')?.at ?? 0) * 1000 }
      : {}),
  }
}
