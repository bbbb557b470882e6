import { buildBatchTree } from '@verity/protocol'
import type { Hex } from 'viem'
import { LEVEL_SQL, modeName } from './figures.js'
import type { IndexStore } from './indexStore.js'

type InferenceRow = {
  id: string
  level: string
  batch_id: number | null
  idx: number | null
  node: string
  fee: string
  mode: number
  receipt_json: string
  signature: string | null
  compute_ms: number | null
  executed_at_ms: number
  committed_at_ms: number | null
  attested_at_ms: number | null
  disputed_at_ms: number | null
  overturned_at_ms: number | null
  final_at_ms: number | null
}

/**
 * One inference as the index knows it: its signed receipt, its timeline, its place in its batch
 * with the inclusion proof (rebuilt from the batch's indexed receipt ids, which hash to the committed
 * root), the attestations and re-executions that cover it, its challenges, and what it cost: its
 * fee, and its share of the gas of its batch (commit and finalize), of the batch's attestations and
 * of any dispute game played over it.
 */
export function inferenceDetail(store: IndexStore, id: string) {
  const row = store.get<InferenceRow>(`SELECT *, ${LEVEL_SQL} AS level FROM inferences WHERE id = ?`, id)
  if (!row) return undefined
  const batch =
    row.batch_id === null
      ? undefined
      : store.get<{
          batchId: number
          root: Hex
          count: number
          node: string
          dataUri: string
          committedAt: number
          finalizedAt: number | null
          gas: number
          decoyCommit: Hex | null
        }>(
          'SELECT batch_id AS batchId, root, count, node, data_uri AS dataUri, committed_at_ms AS committedAt, finalized_at_ms AS finalizedAt, gas, decoy_commit AS decoyCommit FROM batches WHERE batch_id = ?',
          row.batch_id,
        )
  let proof: Hex[] | null = null
  if (batch && row.idx !== null) {
    const ids = store.all<{ id: Hex }>('SELECT id FROM inferences WHERE batch_id = ? ORDER BY idx', batch.batchId).map((r) => r.id)
    if (ids.length === batch.count && batch.decoyCommit) proof = buildBatchTree(ids, batch.decoyCommit).proof(row.idx)
  }
  const attestations =
    row.batch_id === null
      ? []
      : store.all<{ verifier: string; receipts: number; at: number; gas: number }>(
          'SELECT verifier, receipts, at_ms AS at, gas FROM attestations WHERE batch_id = ? ORDER BY at_ms',
          row.batch_id,
        )
  const challenges =
    row.batch_id === null
      ? []
      : store.all<{
          challengeId: number
          challenger: string
          status: string
          openedAt: number
          resolvedAt: number | null
          gameGas: number | null
          moves: number | null
        }>(
          `SELECT ch.challenge_id AS challengeId, ch.challenger, ch.status, ch.opened_at_ms AS openedAt, ch.resolved_at_ms AS resolvedAt,
                  g.gas AS gameGas, g.moves
           FROM challenges ch LEFT JOIN games g ON g.game_id = ch.challenge_id WHERE ch.batch_id = ? AND ch.idx = ?`,
          row.batch_id,
          row.idx,
        )
  const perReceipt = (gas: number) => (batch ? Math.round(gas / batch.count) : 0)
  return {
    id,
    level: row.level,
    node: row.node,
    mode: modeName(row.mode),
    receipt: JSON.parse(row.receipt_json) as Record<string, unknown>,
    signature: row.signature,
    // The EIP-712 domain the receipt is signed under.
    domain: { chainId: Number(store.getMeta('chain_id')), settlement: store.getMeta('settlement') ?? null },
    computeMs: row.compute_ms,
    batch: batch ? { batchId: batch.batchId, root: batch.root, count: batch.count, dataUri: batch.dataUri } : null,
    index: row.idx,
    proof,
    timeline: {
      executed: row.executed_at_ms,
      committed: row.committed_at_ms,
      attested: row.attested_at_ms,
      disputed: row.disputed_at_ms,
      overturned: row.overturned_at_ms,
      final: row.final_at_ms,
    },
    attestations: attestations.map(({ gas: _, ...a }) => a),
    checks: store.all<{ verifier: string; computeMs: number; matched: number; at: number }>(
      'SELECT verifier, compute_ms AS computeMs, matched, at_ms AS at FROM checks WHERE inference_id = ? ORDER BY at_ms',
      id,
    ),
    challenges: challenges.map(({ gameGas: _, moves: __, ...c }) => c),
    cost: {
      fee: row.fee,
      gas: {
        batch: perReceipt(batch?.gas ?? 0),
        attestations: perReceipt(attestations.reduce((a, x) => a + x.gas, 0)),
        disputes: challenges.reduce((a, c) => a + (c.gameGas ?? 0), 0),
      },
    },
  }
}
