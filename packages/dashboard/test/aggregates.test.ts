import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { seededRandom } from '@verity/runtime'
import { describe, expect, it } from 'vitest'
import { SLOT_MS } from '../src/aggregates.js'
import { LEVEL_SQL } from '../src/figures.js'
import { IndexStore } from '../src/indexStore.js'

const COMPUTE_CASES = [0.5, 1, 1.0001, 2.5, 7, 10, 99, 250, 3000, 20_000]

/** What each aggregate should hold, recomputed by scanning every row. */
function scanned(store: IndexStore) {
  return {
    levels: store.all(`SELECT ${LEVEL_SQL} AS level, COUNT(*) AS n FROM inferences GROUP BY level ORDER BY level`),
    nodes: store.all(
      'SELECT node, COUNT(*) AS served, COALESCE(SUM(compute_ms), 0) AS compute_ms FROM inferences GROUP BY node ORDER BY node',
    ),
    slots: store.all(
      `SELECT executed_at_ms / ${SLOT_MS} AS slot, mode, COUNT(*) AS inferences, COALESCE(SUM(compute_ms), 0) AS inference_ms,
              COUNT(compute_ms) AS inference_runs, SUM(committed_at_ms IS NOT NULL) AS committed,
              SUM(committed_at_ms IS NOT NULL AND (attested_at_ms IS NOT NULL OR disputed_at_ms IS NOT NULL)) AS reexecuted
       FROM inferences GROUP BY slot, mode ORDER BY slot, mode`,
    ),
    gaps: store.all(
      `SELECT slot, level, bin, COUNT(*) AS n FROM (
         SELECT executed_at_ms / ${SLOT_MS} AS slot, 'ATTESTED' AS level, (attested_at_ms - executed_at_ms) / 1000 AS bin FROM inferences WHERE attested_at_ms IS NOT NULL
         UNION ALL
         SELECT executed_at_ms / ${SLOT_MS}, 'FINAL', (final_at_ms - executed_at_ms) / 1000 FROM inferences WHERE final_at_ms IS NOT NULL)
       GROUP BY slot, level, bin ORDER BY slot, level, bin`,
    ),
    models: store.all(
      `SELECT model_id, SUM(committed_at_ms IS NOT NULL) AS committed, SUM(committed_at_ms IS NOT NULL AND decoy = 1) AS decoys,
              SUM(CASE WHEN committed_at_ms IS NULL THEN 0 ELSE attestations + challenges END) AS reexecutions
       FROM inferences GROUP BY model_id ORDER BY model_id`,
    ),
    verifiers: store.all(
      'SELECT verifier, COUNT(*) AS checked, SUM(compute_ms) AS compute_ms, SUM(matched = 0) AS mismatched FROM checks GROUP BY verifier ORDER BY verifier',
    ),
    checkSlots: store.all(
      `SELECT at_ms / ${SLOT_MS} AS slot, mode, COUNT(*) AS checks, SUM(compute_ms) AS verification_ms FROM checks GROUP BY slot, mode ORDER BY slot, mode`,
    ),
    compute: store.all(
      `SELECT 'inference' AS role, COUNT(*) AS n, SUM(compute_ms) AS ms FROM inferences WHERE compute_ms IS NOT NULL
       UNION ALL SELECT 'verification', COUNT(*), COALESCE(SUM(compute_ms), 0) FROM checks`,
    ),
  }
}

/** The same figures, read from the aggregates the triggers keep. */
function aggregated(store: IndexStore) {
  return {
    levels: store.all('SELECT level, n FROM agg_levels WHERE n != 0 ORDER BY level'),
    nodes: store.all('SELECT node, served, compute_ms FROM agg_nodes WHERE served != 0 ORDER BY node'),
    slots: store.all(
      'SELECT slot, mode, inferences, inference_ms, inference_runs, committed, reexecuted FROM agg_slots WHERE inferences != 0 ORDER BY slot, mode',
    ),
    gaps: store.all('SELECT slot, level, bin, n FROM agg_gaps WHERE n != 0 ORDER BY slot, level, bin'),
    models: store.all('SELECT model_id, committed, decoys, reexecutions FROM agg_models ORDER BY model_id'),
    verifiers: store.all('SELECT verifier, checked, compute_ms, mismatched FROM agg_verifiers ORDER BY verifier'),
    checkSlots: store.all('SELECT slot, mode, checks, verification_ms FROM agg_slots WHERE checks != 0 ORDER BY slot, mode'),
    compute: store.all(
      `SELECT role, SUM(n) AS n, SUM(ms) AS ms FROM agg_compute GROUP BY role HAVING role = 'inference'
       UNION ALL SELECT 'verification', COALESCE(SUM(n), 0), COALESCE(SUM(ms), 0) FROM agg_compute WHERE role = 'verification'`,
    ),
  }
}

/** Float sums differ in their last bits by summation order: compare them to 1e-6. */
function rounded(value: unknown): unknown {
  if (typeof value === 'number') return Math.round(value * 1e6) / 1e6
  if (Array.isArray(value)) return value.map(rounded)
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rounded(v)]))
  return value
}

/**
 * The aggregates the index keeps by trigger equal a full recomputation after any sequence of the
 * writes the indexer makes: receipts seen at EXECUTED then committed (or committed directly),
 * attestations, challenges opened, upheld and rejected, decoys revealed, finalizations, and verifiers' checks.
 */
describe('index aggregates', () => {
  for (const seed of [1, 2, 3]) {
    it(`equal a full scan after a random history (seed ${seed})`, () => {
      const store = new IndexStore(join(mkdtempSync(join(tmpdir(), 'verity-agg-')), 'index.sqlite'))
      const rand = seededRandom(seed)
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!
      const t0 = 1_790_000_000_000
      const ids: string[] = []
      let batch = 0
      for (let step = 0; step < 600; step++) {
        const roll = rand()
        if (roll < 0.35 || ids.length === 0) {
          // A receipt: from the node's API (EXECUTED), sometimes with no compute time.
          const id = `0x${ids.length.toString(16).padStart(64, '0')}`
          ids.push(id)
          store.run(
            `INSERT INTO inferences (id, node, client, model_id, fee, mode, receipt_json, executed_at_ms, compute_ms)
             VALUES (?, ?, 'c', ?, '1', ?, '{}', ?, ?) ON CONFLICT (id) DO UPDATE SET compute_ms = COALESCE(inferences.compute_ms, excluded.compute_ms)`,
            id,
            pick(['n1', 'n2', 'n3']),
            pick(['m1', 'm2']),
            pick([1, 0x82]),
            t0 + Math.floor((rand() * 60_000) / 1000) * 1000,
            rand() < 0.2 ? null : pick(COMPUTE_CASES),
          )
        } else if (roll < 0.5) {
          // Committed in a batch (the batch data upsert).
          const id = pick(ids)
          batch++
          store.run(
            'UPDATE inferences SET batch_id = ?, idx = 0, committed_at_ms = executed_at_ms + 1000, compute_ms = COALESCE(compute_ms, ?) WHERE id = ? AND batch_id IS NULL',
            batch,
            pick(COMPUTE_CASES),
            id,
          )
        } else if (roll < 0.65) {
          store.run(
            'UPDATE inferences SET attested_at_ms = COALESCE(attested_at_ms, executed_at_ms + ?), attestations = attestations + 1 WHERE id = ? AND committed_at_ms IS NOT NULL',
            1000 * Math.floor(1 + rand() * 4),
            pick(ids),
          )
        } else if (roll < 0.72) {
          store.run(
            'UPDATE inferences SET disputed_at_ms = executed_at_ms + 2000, open_challenges = open_challenges + 1, challenges = challenges + 1 WHERE id = ? AND committed_at_ms IS NOT NULL',
            pick(ids),
          )
          // Now and then the receipt is a decoy its node revealed (its batch's salt on-chain).
          if (rand() < 0.3) store.run('UPDATE inferences SET decoy = 1 WHERE id = ? AND committed_at_ms IS NOT NULL', pick(ids))
        } else if (roll < 0.78) {
          const upheld = rand() < 0.5
          store.run(
            `UPDATE inferences SET open_challenges = MAX(0, open_challenges - 1), overturned_at_ms = ${upheld ? 'executed_at_ms + 9000' : 'overturned_at_ms'},
               final_at_ms = ${upheld ? 'NULL' : 'final_at_ms'} WHERE id = ? AND open_challenges > 0`,
            pick(ids),
          )
        } else if (roll < 0.9) {
          store.run(
            'UPDATE inferences SET final_at_ms = executed_at_ms + ? WHERE id = ? AND committed_at_ms IS NOT NULL AND overturned_at_ms IS NULL AND final_at_ms IS NULL',
            1000 * Math.floor(10 + rand() * 30),
            pick(ids),
          )
        } else {
          // A verifier's check (a repeat of the same receipt is ignored).
          store.run(
            `INSERT OR IGNORE INTO checks (verifier, seq, batch_id, idx, inference_id, mode, compute_ms, matched, at_ms) VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?)`,
            pick(['v1', 'v2']),
            step,
            Math.floor(rand() * 20),
            pick(ids),
            pick([1, 0x82]),
            pick(COMPUTE_CASES),
            rand() < 0.9 ? 1 : 0,
            t0 + Math.floor(rand() * 60_000),
          )
        }
      }
      expect(rounded(aggregated(store))).toEqual(rounded(scanned(store)))
      store.close()
    })
  }

  it('rebuilds an index of an older schema from scratch', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'verity-agg-')), 'index.sqlite')
    const first = new IndexStore(path)
    first.setMeta('schema_version', '1')
    first.setMeta('cursor', '42')
    first.close()
    const second = new IndexStore(path)
    expect(second.getMeta('cursor')).toBeUndefined()
    expect(second.getMeta('schema_version')).not.toBe('1')
    second.setMeta('cursor', '7')
    second.close()
    // The current schema is kept as it is.
    const third = new IndexStore(path)
    expect(third.getMeta('cursor')).toBe('7')
    third.close()
  })
})
