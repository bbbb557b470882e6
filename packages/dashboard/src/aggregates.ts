import { COMPUTE_BUCKETS } from '@verity/node'

/** Width of the index's time slots (5 s): the series over time are read from per-slot aggregates. */
export const SLOT_MS = 5000

/** The trust level of an `inferences` row `r` (OLD or NEW in a trigger), as SQL. */
export const levelOf = (r: string) => `CASE
  WHEN ${r}.overturned_at_ms IS NOT NULL THEN 'OVERTURNED'
  WHEN ${r}.final_at_ms IS NOT NULL THEN 'FINAL'
  WHEN ${r}.open_challenges > 0 THEN 'DISPUTED'
  WHEN ${r}.attested_at_ms IS NOT NULL THEN 'ATTESTED'
  WHEN ${r}.committed_at_ms IS NOT NULL THEN 'COMMITTED'
  ELSE 'EXECUTED' END`

/** Re-executed by a verifier, as the chain shows it (attested or challenged), for row `r`. */
export const reexecutedOf = (r: string) => `(${r}.attested_at_ms IS NOT NULL OR ${r}.disputed_at_ms IS NOT NULL)`

/**
 * Re-executions of row `r` the chain shows: one per verifier whose attestation bitmap holds it, one per
 * challenge opened against it (0 before it is committed).
 */
export const reexecutionsOf = (r: string) => `(CASE WHEN ${r}.committed_at_ms IS NULL THEN 0 ELSE ${r}.attestations + ${r}.challenges END)`

/** Index of the compute-time bucket (COMPUTE_BUCKETS, then +Inf) of `ms` milliseconds, as SQL. */
const computeBucketOf = (ms: string) =>
  `CASE ${COMPUTE_BUCKETS.map((bound, i) => `WHEN ${ms} <= ${bound * 1000} THEN ${i}`).join(' ')} ELSE ${COMPUTE_BUCKETS.length} END`

/**
 * The statements that add (sign 1) or remove (sign -1) one `inferences` row `r` from every aggregate:
 * receipts by level, by mode (committed, re-executed), by node (served, compute), by model (committed,
 * revealed decoys, re-executions: the verification ratio of `summaryOf`), per slot of
 * execution (receipts, compute, committed and re-executed by mode), the trust-gap histograms per slot
 * (1 s bins: gaps are whole seconds), the compute histogram and the totals.
 */
function inferenceContribution(r: string, sign: 1 | -1): string {
  const s = sign === 1 ? '+' : '-'
  const committed = `(${r}.committed_at_ms IS NOT NULL)`
  const slot = `${r}.executed_at_ms / ${SLOT_MS}`
  return `
    INSERT INTO agg_levels (level, n) VALUES (${levelOf(r)}, ${sign})
      ON CONFLICT (level) DO UPDATE SET n = n ${s} 1;
    INSERT INTO agg_nodes (node, served, compute_ms) VALUES (${r}.node, ${sign}, ${sign} * COALESCE(${r}.compute_ms, 0))
      ON CONFLICT (node) DO UPDATE SET served = served ${s} 1, compute_ms = compute_ms ${s} COALESCE(${r}.compute_ms, 0);
    INSERT INTO agg_slots (slot, mode, inferences, inference_ms, inference_runs, committed, reexecuted)
      VALUES (${slot}, ${r}.mode, ${sign}, ${sign} * COALESCE(${r}.compute_ms, 0), ${sign} * (${r}.compute_ms IS NOT NULL),
              ${sign} * ${committed}, ${sign} * (${committed} AND ${reexecutedOf(r)}))
      ON CONFLICT (slot, mode) DO UPDATE SET inferences = inferences ${s} 1,
        inference_ms = inference_ms ${s} COALESCE(${r}.compute_ms, 0), inference_runs = inference_runs ${s} (${r}.compute_ms IS NOT NULL),
        committed = committed ${s} ${committed}, reexecuted = reexecuted ${s} (${committed} AND ${reexecutedOf(r)});
    INSERT INTO agg_models (model_id, committed, decoys, reexecutions)
      VALUES (${r}.model_id, ${sign} * ${committed}, ${sign} * (${committed} AND ${r}.decoy = 1), ${sign} * ${reexecutionsOf(r)})
      ON CONFLICT (model_id) DO UPDATE SET committed = committed ${s} ${committed}, decoys = decoys ${s} (${committed} AND ${r}.decoy = 1),
        reexecutions = reexecutions ${s} ${reexecutionsOf(r)};
    INSERT INTO agg_compute (role, bucket, n, ms) SELECT 'inference', ${computeBucketOf(`${r}.compute_ms`)}, ${sign}, ${sign} * ${r}.compute_ms
      WHERE ${r}.compute_ms IS NOT NULL
      ON CONFLICT (role, bucket) DO UPDATE SET n = n ${s} 1, ms = ms ${s} ${r}.compute_ms;
    INSERT INTO agg_gaps (slot, level, bin, n) SELECT ${slot}, 'ATTESTED', (${r}.attested_at_ms - ${r}.executed_at_ms) / 1000, ${sign}
      WHERE ${r}.attested_at_ms IS NOT NULL
      ON CONFLICT (slot, level, bin) DO UPDATE SET n = n ${s} 1;
    INSERT INTO agg_gaps (slot, level, bin, n) SELECT ${slot}, 'FINAL', (${r}.final_at_ms - ${r}.executed_at_ms) / 1000, ${sign}
      WHERE ${r}.final_at_ms IS NOT NULL
      ON CONFLICT (slot, level, bin) DO UPDATE SET n = n ${s} 1;`
}

/**
 * Aggregates kept by triggers in the same transaction as every write, so the dashboard's figures
 * over the whole index cost a read of a few small tables instead of a scan of every receipt.
 */
export const AGGREGATES_SQL = `
CREATE TABLE IF NOT EXISTS agg_levels (level TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS agg_nodes (node TEXT PRIMARY KEY, served INTEGER NOT NULL, compute_ms REAL NOT NULL);
CREATE TABLE IF NOT EXISTS agg_models (model_id TEXT PRIMARY KEY, committed INTEGER NOT NULL, decoys INTEGER NOT NULL, reexecutions INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS agg_verifiers (verifier TEXT PRIMARY KEY, checked INTEGER NOT NULL, compute_ms REAL NOT NULL, mismatched INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS agg_slots (
  slot INTEGER NOT NULL,
  mode INTEGER NOT NULL,
  inferences INTEGER NOT NULL DEFAULT 0,
  inference_ms REAL NOT NULL DEFAULT 0,
  inference_runs INTEGER NOT NULL DEFAULT 0,
  committed INTEGER NOT NULL DEFAULT 0,
  reexecuted INTEGER NOT NULL DEFAULT 0,
  checks INTEGER NOT NULL DEFAULT 0,
  verification_ms REAL NOT NULL DEFAULT 0,
  PRIMARY KEY (slot, mode)
);
CREATE TABLE IF NOT EXISTS agg_compute (role TEXT NOT NULL, bucket INTEGER NOT NULL, n INTEGER NOT NULL, ms REAL NOT NULL, PRIMARY KEY (role, bucket));
CREATE TABLE IF NOT EXISTS agg_gaps (slot INTEGER NOT NULL, level TEXT NOT NULL, bin INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (slot, level, bin));
CREATE TRIGGER IF NOT EXISTS inferences_added AFTER INSERT ON inferences BEGIN ${inferenceContribution('NEW', 1)}
END;
CREATE TRIGGER IF NOT EXISTS inferences_changed AFTER UPDATE ON inferences BEGIN ${inferenceContribution('OLD', -1)} ${inferenceContribution('NEW', 1)}
END;
CREATE TRIGGER IF NOT EXISTS inferences_removed AFTER DELETE ON inferences BEGIN ${inferenceContribution('OLD', -1)}
END;
CREATE TRIGGER IF NOT EXISTS checks_added AFTER INSERT ON checks BEGIN
  INSERT INTO agg_verifiers (verifier, checked, compute_ms, mismatched) VALUES (NEW.verifier, 1, NEW.compute_ms, NEW.matched = 0)
    ON CONFLICT (verifier) DO UPDATE SET checked = checked + 1, compute_ms = compute_ms + NEW.compute_ms, mismatched = mismatched + (NEW.matched = 0);
  INSERT INTO agg_slots (slot, mode, checks, verification_ms) VALUES (NEW.at_ms / ${SLOT_MS}, NEW.mode, 1, NEW.compute_ms)
    ON CONFLICT (slot, mode) DO UPDATE SET checks = checks + 1, verification_ms = verification_ms + NEW.compute_ms;
  INSERT INTO agg_compute (role, bucket, n, ms) VALUES ('verification', ${computeBucketOf('NEW.compute_ms')}, 1, NEW.compute_ms)
    ON CONFLICT (role, bucket) DO UPDATE SET n = n + 1, ms = ms + NEW.compute_ms;
END;
`

/** The aggregate tables (dropped with the index when its schema changes). */
export const AGGREGATE_TABLES = ['agg_levels', 'agg_nodes', 'agg_models', 'agg_verifiers', 'agg_slots', 'agg_compute', 'agg_gaps']
