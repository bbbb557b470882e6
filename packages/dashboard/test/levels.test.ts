import { type BatchTrustEvent, receiptChainState, type TrustLevel, trustOf } from '@verity/protocol'
import { describe, expect, it } from 'vitest'
import { LEVEL_SQL } from '../src/figures.js'
import { IndexStore } from '../src/indexStore.js'
import { applyAttestations, finalizeReceipts, refreshDisputes } from '../src/receiptFacts.js'

const INDEX = 1
const STATUSES = ['open', 'overturned', 'rejected', 'redundant', 'expired'] as const
type Status = (typeof STATUSES)[number]

/** Every combination of chain facts about receipt 1 of a 3-receipt batch, as the batch's Settlement events. */
function combinations(): { name: string; events: BatchTrustEvent[]; finalized: boolean }[] {
  const out: { name: string; events: BatchTrustEvent[]; finalized: boolean }[] = []
  // Verifier bitmaps: attesting receipt 1 (0b010, 0b111) or only its neighbours (0b101).
  const verifiers = [
    { verifier: '0xa1', bitmap: [0b010n] },
    { verifier: '0xa2', bitmap: [0b101n] },
    { verifier: '0xa3', bitmap: [0b111n] },
  ]
  // Up to two challenges on the receipt, in every combination of outcomes (the level does not depend on their order).
  const sequences: Status[][] = [[], ...STATUSES.map((s) => [s]), ...STATUSES.flatMap((s, i) => STATUSES.slice(i).map((t) => [s, t]))]
  const neighbour: (Status | undefined)[] = [undefined, 'open', 'overturned']
  // None, only a neighbour's attestation, one attestation of the receipt, all three.
  for (const mask of [0b000, 0b010, 0b001, 0b111])
    for (const sequence of sequences)
      for (const other of neighbour)
        for (const finalized of [false, true]) {
          const events: BatchTrustEvent[] = []
          let t = 10_000
          const tick = () => {
            t += 1000
            return t
          }
          verifiers.forEach((v, i) => {
            if (mask & (1 << i)) events.push({ kind: 'attested', at: tick(), ...v })
          })
          const challenge = (index: number, status: Status, id: string) => {
            events.push({ kind: 'challenged', at: tick(), challengeId: id, index, challenger: '0xc1' })
            if (status !== 'open') events.push({ kind: status, at: tick(), challengeId: id })
          }
          for (const [i, status] of sequence.entries()) challenge(INDEX, status, `${i}`)
          if (other) challenge(0, other, 'other')
          if (finalized) events.push({ kind: 'finalized', at: tick() })
          out.push({
            name: `attested by ${mask.toString(2)}, challenges [${sequence}], neighbour ${other}, finalized ${finalized}`,
            events,
            finalized,
          })
        }
  return out
}

/** The index's tables for one batch's events, written as the indexer writes them; the level rules are the indexer's own. */
function index(store: IndexStore, batchId: number, events: readonly BatchTrustEvent[], receiptFirst: boolean) {
  const id = `0x${batchId.toString(16).padStart(64, '0')}`
  const insertReceipt = () => {
    const batch = store.get<{ committed_at_ms: number; finalized_at_ms: number | null }>(
      'SELECT * FROM batches WHERE batch_id = ?',
      batchId,
    )!
    store.run(
      `INSERT INTO inferences (id, batch_id, idx, node, client, model_id, fee, mode, receipt_json, executed_at_ms, committed_at_ms, final_at_ms)
       VALUES (?, ?, ?, '0xn', '0xc', '0xm', '1', 1, '{}', 1000, ?, ?)`,
      id,
      batchId,
      INDEX,
      batch.committed_at_ms,
      batch.finalized_at_ms,
    )
  }
  store.run(
    `INSERT INTO batches (batch_id, node, root, count, fee, data_uri, committed_at_ms) VALUES (?, '0xn', '0xr', 3, '3', 'x', 5000)`,
    batchId,
  )
  if (receiptFirst) insertReceipt()
  const indexOf = new Map<string, number>()
  for (const e of events) {
    if (e.kind === 'attested') {
      store.run(
        'INSERT INTO attestations (batch_id, verifier, receipts, bitmap, at_ms) VALUES (?, ?, 1, ?, ?)',
        batchId,
        e.verifier,
        JSON.stringify(e.bitmap.map(String)),
        e.at,
      )
      applyAttestations(store, batchId)
    } else if (e.kind === 'challenged') {
      const challengeId = batchId * 100 + indexOf.size
      indexOf.set(e.challengeId, challengeId)
      store.run(
        `INSERT INTO challenges (challenge_id, batch_id, idx, challenger, bond, opened_at_ms, status) VALUES (?, ?, ?, ?, '1', ?, 'open')`,
        challengeId,
        batchId,
        e.index,
        e.challenger,
        e.at,
      )
      refreshDisputes(store, batchId, e.index)
    } else if (e.kind === 'finalized') {
      store.run('UPDATE batches SET finalized_at_ms = ? WHERE batch_id = ?', e.at, batchId)
      finalizeReceipts(store, batchId, e.at)
    } else {
      const status = e.kind === 'overturned' ? 'upheld' : e.kind
      const challengeId = indexOf.get(e.challengeId)!
      store.run('UPDATE challenges SET status = ?, resolved_at_ms = ? WHERE challenge_id = ?', status, e.at, challengeId)
      const { idx } = store.get<{ idx: number }>('SELECT idx FROM challenges WHERE challenge_id = ?', challengeId)!
      refreshDisputes(store, batchId, idx)
    }
  }
  if (!receiptFirst) {
    // The indexer's order when the receipts are fetched after their events (fetchBatch).
    insertReceipt()
    applyAttestations(store, batchId)
    for (const c of store.all<{ idx: number }>('SELECT DISTINCT idx FROM challenges WHERE batch_id = ?', batchId))
      refreshDisputes(store, batchId, c.idx)
  }
  return id
}

/**
 * The dashboard's SQL derives trust levels from the columns its indexer keeps; the protocol derives
 * them with `trustOf`. For every combination of chain facts, both give the same level, and the
 * per-level counts the triggers keep add up to the protocol's.
 */
describe('the dashboard derives the same trust level as trustOf', () => {
  it.each([true, false])(
    'for every combination of attestations, challenges and finalization (receipt indexed first: %s)',
    (receiptFirst) => {
      const expected = new Map<TrustLevel, number>()
      const cases = combinations()
      expect(cases.length).toBe(4 * 21 * 3 * 2)
      // In memory: the same SQL, tables and triggers as on disk, without a sync per write.
      const store = new IndexStore(':memory:')
      for (const [i, c] of cases.entries()) {
        const state = receiptChainState({ issuedAt: 1, commit: { batchId: i + 1, index: INDEX, at: 5000 }, events: c.events })
        const level = trustOf(state).level
        const id = index(store, i + 1, c.events, receiptFirst)
        const row = store.get<{ level: string }>(`SELECT ${LEVEL_SQL} AS level FROM inferences WHERE id = ?`, id)!
        expect(row.level, c.name).toBe(level)
        expected.set(level, (expected.get(level) ?? 0) + 1)
      }
      // Every level is reached by some combination, and the counts the triggers keep are the protocol's.
      expect([...expected.keys()].sort()).toEqual(['ATTESTED', 'COMMITTED', 'DISPUTED', 'FINAL', 'OVERTURNED'])
      const counted = store.all<{ level: string; n: number }>('SELECT level, n FROM agg_levels WHERE n != 0')
      expect(Object.fromEntries(counted.map((r) => [r.level, r.n]))).toEqual(Object.fromEntries(expected))
      // Not committed: EXECUTED on both sides.
      store.run(
        `INSERT INTO inferences (id, node, client, model_id, fee, mode, receipt_json, executed_at_ms) VALUES ('0xexecuted', '0xn', '0xc', '0xm', '1', 1, '{}', 1000)`,
      )
      expect(store.get<{ level: string }>(`SELECT ${LEVEL_SQL} AS level FROM inferences WHERE id = '0xexecuted'`)!.level).toBe(
        trustOf(receiptChainState({ issuedAt: 1, events: [] })).level,
      )
      store.close()
    },
  )
})
