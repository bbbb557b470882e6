import Database from 'better-sqlite3'
import { AGGREGATE_TABLES, AGGREGATES_SQL } from './aggregates.js'

/** Bumped whenever the tables change: an index of another version is dropped and rebuilt from the chain and the nodes. */
const SCHEMA_VERSION = '7'

const TABLES = [
  'meta',
  'batches',
  'inferences',
  'attestations',
  'checks',
  'challenges',
  'inclusion_refunds',
  'games',
  'operators',
  'models',
  ...AGGREGATE_TABLES,
]

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS redemptions (
  block INTEGER NOT NULL,
  log_index INTEGER NOT NULL,
  client TEXT NOT NULL,
  node TEXT NOT NULL,
  debited TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  PRIMARY KEY (block, log_index)
);
CREATE TABLE IF NOT EXISTS batches (
  batch_id INTEGER PRIMARY KEY,
  node TEXT NOT NULL,
  root TEXT NOT NULL,
  count INTEGER NOT NULL,
  fee TEXT NOT NULL,
  data_uri TEXT NOT NULL,
  committed_at_ms INTEGER NOT NULL,
  finalized_at_ms INTEGER,
  -- Paid out at finalization (node + verifiers), wei.
  paid TEXT,
  gas INTEGER NOT NULL DEFAULT 0,
  fetched INTEGER NOT NULL DEFAULT 0,
  fetch_error TEXT,
  -- The batch's decoy commitment (its root = keccak(receipts root ‖ this)), as the node served it.
  decoy_commit TEXT,
  -- The decoys' salt, once the node revealed it on-chain (DecoysRevealed): their positions follow from it.
  decoy_salt TEXT
);
CREATE TABLE IF NOT EXISTS inferences (
  id TEXT PRIMARY KEY,
  batch_id INTEGER,
  idx INTEGER,
  node TEXT NOT NULL,
  client TEXT NOT NULL,
  model_id TEXT NOT NULL,
  fee TEXT NOT NULL,
  mode INTEGER NOT NULL,
  receipt_json TEXT NOT NULL,
  signature TEXT,
  executed_at_ms INTEGER NOT NULL,
  compute_ms REAL,
  committed_at_ms INTEGER,
  attested_at_ms INTEGER,
  attestations INTEGER NOT NULL DEFAULT 0,
  disputed_at_ms INTEGER,
  open_challenges INTEGER NOT NULL DEFAULT 0,
  overturned_at_ms INTEGER,
  final_at_ms INTEGER,
  -- Challenges opened against it (each one a verifier's re-execution), and whether it is a revealed decoy.
  challenges INTEGER NOT NULL DEFAULT 0,
  decoy INTEGER NOT NULL DEFAULT 0,
  UNIQUE (batch_id, idx)
);
CREATE INDEX IF NOT EXISTS inferences_recent ON inferences (executed_at_ms DESC);
CREATE INDEX IF NOT EXISTS inferences_node ON inferences (node);
CREATE INDEX IF NOT EXISTS inferences_gap_attested ON inferences (attested_at_ms - executed_at_ms) WHERE attested_at_ms IS NOT NULL;
CREATE INDEX IF NOT EXISTS inferences_gap_final ON inferences (final_at_ms - executed_at_ms) WHERE final_at_ms IS NOT NULL;
CREATE TABLE IF NOT EXISTS attestations (
  batch_id INTEGER NOT NULL,
  verifier TEXT NOT NULL,
  receipts INTEGER NOT NULL,
  bitmap TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  gas INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (batch_id, verifier)
);
CREATE INDEX IF NOT EXISTS attestations_verifier ON attestations (verifier);
CREATE TABLE IF NOT EXISTS checks (
  verifier TEXT NOT NULL,
  seq INTEGER NOT NULL,
  batch_id INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  inference_id TEXT NOT NULL,
  mode INTEGER NOT NULL,
  compute_ms REAL NOT NULL,
  matched INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  PRIMARY KEY (verifier, batch_id, idx)
);
CREATE INDEX IF NOT EXISTS checks_inference ON checks (inference_id);
CREATE INDEX IF NOT EXISTS checks_time ON checks (at_ms);
CREATE TABLE IF NOT EXISTS challenges (
  challenge_id INTEGER PRIMARY KEY,
  batch_id INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  challenger TEXT NOT NULL,
  bond TEXT NOT NULL,
  opened_at_ms INTEGER NOT NULL,
  status TEXT NOT NULL,
  resolved_at_ms INTEGER,
  refund TEXT,
  slashed TEXT,
  bounty TEXT
);
-- Refunds paid on a client's inclusion challenge (InclusionProven at an overturned leaf, InclusionExpired):
-- an availability challenge overturns a leaf without naming its client, who claims the refund this way.
CREATE TABLE IF NOT EXISTS inclusion_refunds (
  challenge_id INTEGER PRIMARY KEY,
  refund TEXT NOT NULL,
  at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS games (
  game_id INTEGER PRIMARY KEY,
  node TEXT NOT NULL,
  challenger TEXT NOT NULL,
  model_id TEXT NOT NULL,
  opened_at_ms INTEGER NOT NULL,
  moves INTEGER NOT NULL DEFAULT 0,
  gas INTEGER NOT NULL DEFAULT 0,
  resolved_at_ms INTEGER,
  node_lost INTEGER,
  reason INTEGER
);
-- The work of one run of each model (modelCost of its registered artifact), or why it is not known yet.
CREATE TABLE IF NOT EXISTS models (
  model_id TEXT PRIMARY KEY,
  cost TEXT,
  error TEXT,
  tried_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS operators (
  address TEXT NOT NULL,
  role INTEGER NOT NULL,
  endpoint TEXT NOT NULL,
  staked TEXT NOT NULL DEFAULT '0',
  slashed TEXT NOT NULL DEFAULT '0',
  registered_at_ms INTEGER NOT NULL,
  api_error TEXT,
  PRIMARY KEY (address, role)
);
`

export type Row = Record<string, unknown>

/** Prepared statements by database and SQL text: preparing a write to `inferences` compiles its aggregate triggers (about a millisecond). */
const statements = new WeakMap<Database.Database, Map<string, Database.Statement>>()

function prepared(db: Database.Database, sql: string): Database.Statement {
  let mine = statements.get(db)
  if (!mine) {
    mine = new Map()
    statements.set(db, mine)
  }
  let statement = mine.get(sql)
  if (!statement) {
    statement = db.prepare(sql)
    if (mine.size >= 256) mine.clear()
    mine.set(sql, statement)
  }
  return statement
}

/**
 * The dashboard's index in SQLite (WAL): batches, every receipt (from its node's API as soon as it is
 * signed, then from its committed batch) with the time it reached each trust level (chain time, ms) and
 * its compute time, the verifiers' re-executions, attestations, challenges, dispute games and operators,
 * plus the cursors.
 * Every write is idempotent, so a range of events delivered twice changes nothing.
 */
export class IndexStore {
  readonly db: Database.Database
  /** Bumped by every data write (not by cursor moves): what the API's cached figures are keyed on. */
  version = 0

  constructor(path: string) {
    this.db = new Database(path)
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('synchronous = NORMAL')
    const version = this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get()
      ? this.getMeta('schema_version')
      : SCHEMA_VERSION
    if (version !== SCHEMA_VERSION) for (const table of TABLES) this.db.exec(`DROP TABLE IF EXISTS ${table}`)
    this.db.exec(SCHEMA)
    this.db.exec(AGGREGATES_SQL)
    this.setMeta('schema_version', SCHEMA_VERSION)
  }

  getMeta(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as Row | undefined)?.value as string | undefined
  }

  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value)
  }

  run(sql: string, ...params: unknown[]): void {
    if (prepared(this.db, sql).run(...params).changes > 0) this.version++
  }

  all<T = Row>(sql: string, ...params: unknown[]): T[] {
    return prepared(this.db, sql).all(...params) as T[]
  }

  get<T = Row>(sql: string, ...params: unknown[]): T | undefined {
    return prepared(this.db, sql).get(...params) as T | undefined
  }

  transaction(fn: () => void): void {
    this.db.transaction(fn)()
  }

  close(): void {
    this.db.close()
  }
}
