import { describe, expect, it } from 'vitest'
import { summaryOf } from '../src/figures.js'
import { IndexStore } from '../src/indexStore.js'
import { applyAttestations, applyDecoys, refreshDisputes } from '../src/receiptFacts.js'

/**
 * Verification ÷ inference from chain facts, as the indexer writes them: a batch of 8 leaves of two
 * models (costs 10 and 1,000), two verifiers' attestation bitmaps, a challenge, the decoys its node
 * revealed, and a batch of a model whose artifact could not be priced.
 */
describe('verification ratio', () => {
  it('weights attested and challenged receipts by model cost, over committed receipts less revealed decoys', () => {
    const store = new IndexStore(':memory:')
    const batch = (id: number, count: number) =>
      store.run(
        `INSERT INTO batches (batch_id, node, root, count, fee, data_uri, committed_at_ms) VALUES (?, 'n', '0x', ?, '0', '', 1000)`,
        id,
        count,
      )
    const receipt = (batchId: number, idx: number, model: string) =>
      store.run(
        `INSERT INTO inferences (id, batch_id, idx, node, client, model_id, fee, mode, receipt_json, executed_at_ms, committed_at_ms)
         VALUES (?, ?, ?, 'n', 'c', ?, '1', 1, '{}', 0, 1000)`,
        `${batchId}:${idx}`,
        batchId,
        idx,
        model,
      )
    batch(1, 8)
    for (let i = 0; i < 8; i++) receipt(1, i, i < 4 ? 'small' : 'large')
    batch(2, 2)
    for (let i = 0; i < 2; i++) receipt(2, i, 'unpriced')
    store.run(`INSERT INTO models (model_id, cost, error, tried_at_ms) VALUES ('small', '10', NULL, 0), ('large', '1000', NULL, 0)`)
    store.run(`INSERT INTO models (model_id, cost, error, tried_at_ms) VALUES ('unpriced', NULL, 'artifact unavailable', 0)`)
    // v1 attests leaves 0–5, v2 leaves 4–6 and challenges leaf 7.
    store.run(
      `INSERT INTO attestations (batch_id, verifier, receipts, bitmap, at_ms) VALUES (1, 'v1', 6, '["63"]', 2000), (1, 'v2', 3, '["112"]', 2000)`,
    )
    applyAttestations(store, 1)
    store.run(
      `INSERT INTO challenges (challenge_id, batch_id, idx, challenger, bond, opened_at_ms, status) VALUES (1, 1, 7, 'v2', '0', 2000, 'open')`,
    )
    refreshDisputes(store, 1, 7)
    expect(summaryOf(store).verification).toMatchObject({ inferences: 8, decoys: 0, reexecutions: 10 })
    // The node reveals its salt: at 25 % a batch of 8 holds 2 decoys, at leaves 2 and 5 (decoyPositions) — not inferences.
    store.run(`UPDATE batches SET decoy_salt = ? WHERE batch_id = 1`, `0x${'5a'.repeat(32)}`)
    applyDecoys(store, 1, 2500)
    expect(store.all('SELECT idx FROM inferences WHERE decoy = 1 ORDER BY idx')).toEqual([{ idx: 2 }, { idx: 5 }])
    expect(summaryOf(store).verification).toEqual({
      // Leaves 0, 1, 3 (small) and 4, 6, 7 (large).
      inferences: 6,
      decoys: 2,
      // v1: 4 small + 2 large; v2: 3 large; the challenge: 1 large.
      reexecutions: 10,
      unpriced: 2,
      inferenceWork: String(3 * 10 + 3 * 1000),
      verificationWork: String(4 * 10 + 2 * 1000 + 3 * 1000 + 1000),
      share: 1.993399,
    })
    store.close()
  })
})
