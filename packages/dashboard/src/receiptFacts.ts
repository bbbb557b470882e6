import { bitmapHas, decoyPositions } from '@verity/protocol'
import type { Hex } from 'viem'
import type { IndexStore } from './indexStore.js'

/*
 * How the indexer turns a receipt's chain facts (its batch's commit, attestations, challenges and
 * finalization) into the columns of its `inferences` row that the trust level is derived from
 * (`levelOf` in aggregates.ts). Tested against `trustOf` in test/levels.test.ts for every
 * combination of facts.
 */

/** Marks a finalized batch's receipts FINAL (all but the overturned ones). */
export function finalizeReceipts(store: IndexStore, batchId: number, at: number): void {
  store.run('UPDATE inferences SET final_at_ms = ? WHERE batch_id = ? AND overturned_at_ms IS NULL AND final_at_ms IS NULL', at, batchId)
}

/**
 * A receipt's dispute fields from its challenges: first opened, how many were opened and are open, when one was
 * upheld (an overturned receipt is never FINAL).
 */
export function refreshDisputes(store: IndexStore, batchId: number, idx: number): void {
  store.run(
    `UPDATE inferences SET
       disputed_at_ms = (SELECT MIN(opened_at_ms) FROM challenges c WHERE c.batch_id = @batchId AND c.idx = @idx),
       challenges = (SELECT COUNT(*) FROM challenges c WHERE c.batch_id = @batchId AND c.idx = @idx),
       open_challenges = (SELECT COUNT(*) FROM challenges c WHERE c.batch_id = @batchId AND c.idx = @idx AND c.status = 'open'),
       overturned_at_ms = (SELECT MIN(resolved_at_ms) FROM challenges c WHERE c.batch_id = @batchId AND c.idx = @idx AND c.status = 'upheld')
     WHERE batch_id = @batchId AND idx = @idx`,
    { batchId, idx },
  )
  store.run('UPDATE inferences SET final_at_ms = NULL WHERE batch_id = ? AND idx = ? AND overturned_at_ms IS NOT NULL', batchId, idx)
}

/** Sets `attested_at_ms` and the attestation count of a batch's indexed receipts from its attestations. */
export function applyAttestations(store: IndexStore, batchId: number): void {
  const attestations = store
    .all<{ bitmap: string; at_ms: number }>('SELECT bitmap, at_ms FROM attestations WHERE batch_id = ? ORDER BY at_ms', batchId)
    .map((x) => ({ at_ms: x.at_ms, bitmap: (JSON.parse(x.bitmap) as string[]).map(BigInt) }))
  const receipts = store.all<{ idx: number }>('SELECT idx FROM inferences WHERE batch_id = ?', batchId)
  store.transaction(() => {
    for (const { idx } of receipts) {
      const hits = attestations.filter((x) => bitmapHas(x.bitmap, idx))
      if (hits.length === 0) continue
      store.run(
        'UPDATE inferences SET attested_at_ms = ?, attestations = ? WHERE batch_id = ? AND idx = ?',
        hits[0]!.at_ms,
        hits.length,
        batchId,
        idx,
      )
    }
  })
}

/**
 * Marks a batch's decoys (forced errors, not client inferences) once its node revealed their salt
 * on-chain: their positions are `decoyPositions(salt, leaves, decoyRateBps)`, as Settlement computes them.
 */
export function applyDecoys(store: IndexStore, batchId: number, decoyRateBps: number): void {
  const batch = store.get<{ count: number; decoy_salt: string | null }>('SELECT count, decoy_salt FROM batches WHERE batch_id = ?', batchId)
  if (!batch?.decoy_salt || decoyRateBps === 0) return
  store.transaction(() => {
    for (const { position } of decoyPositions(batch.decoy_salt as Hex, batch.count, decoyRateBps))
      store.run('UPDATE inferences SET decoy = 1 WHERE batch_id = ? AND idx = ? AND decoy = 0', batchId, position)
  })
}
