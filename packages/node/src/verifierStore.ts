import Database from 'better-sqlite3'
import type { Hex } from 'viem'

export type VerifierBatch = {
  batchId: number
  node: Hex
  root: Hex
  count: number
  dataUri: string
  blockHash: Hex
  blockNumber: number
  committedAt: number
  state: 'new' | 'done' | 'skipped'
  attempts: number
  /** Not retried before this time (ms since the epoch): the backoff after a failed attempt. */
  nextAtMs: number
  checked: number
  matched: number
  attestTx: Hex | null
  error: string | null
}

export type Evidence = {
  batchId: number
  index: number
  receiptJson: string
  claimed: Hex
  recomputed: Hex
  challengeId: string | null
  tx: Hex | null
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS batches (
  batch_id INTEGER PRIMARY KEY,
  node TEXT NOT NULL,
  root TEXT NOT NULL,
  count INTEGER NOT NULL,
  data_uri TEXT NOT NULL,
  block_hash TEXT NOT NULL,
  block_number INTEGER NOT NULL,
  committed_at INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'new',
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at_ms INTEGER NOT NULL DEFAULT 0,
  checked INTEGER NOT NULL DEFAULT 0,
  matched INTEGER NOT NULL DEFAULT 0,
  attest_tx TEXT,
  error TEXT
);
CREATE TABLE IF NOT EXISTS evidence (
  batch_id INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  receipt_json TEXT NOT NULL,
  claimed TEXT NOT NULL,
  recomputed TEXT NOT NULL,
  challenge_id TEXT,
  tx TEXT,
  PRIMARY KEY (batch_id, idx)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS game_inputs (hash TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS published_inputs (hash TEXT PRIMARY KEY, inputs TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS data_challenges (challenge_id TEXT PRIMARY KEY, deadline INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS checks (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  batch_id INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  inference_id TEXT NOT NULL,
  mode INTEGER NOT NULL,
  compute_ms REAL NOT NULL,
  matched INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  UNIQUE (batch_id, idx)
);
`

/** One re-execution by this verifier: which receipt, how long the run took, whether it matched. */
export type Check = {
  seq: number
  batchId: number
  index: number
  inferenceId: Hex
  mode: number
  computeMs: number
  matched: boolean
  atMs: number
}

type Row = Record<string, unknown>
const batchOf = (r: Row): VerifierBatch => ({
  batchId: r.batch_id as number,
  node: r.node as Hex,
  root: r.root as Hex,
  count: r.count as number,
  dataUri: r.data_uri as string,
  blockHash: r.block_hash as Hex,
  blockNumber: r.block_number as number,
  committedAt: r.committed_at as number,
  state: r.state as VerifierBatch['state'],
  attempts: r.attempts as number,
  nextAtMs: (r.next_at_ms as number) ?? 0,
  checked: r.checked as number,
  matched: r.matched as number,
  attestTx: (r.attest_tx as Hex | null) ?? null,
  error: (r.error as string | null) ?? null,
})

/** A verifier's durable state: the batches it saw, what it found, its evidence, its event cursor. */
export class VerifierStore {
  readonly db: Database.Database
  constructor(path: string) {
    this.db = new Database(path)
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('synchronous = FULL')
    this.db.exec(SCHEMA)
    // Databases from before retries were scheduled: add the column.
    const columns = this.db.prepare('PRAGMA table_info(batches)').all() as { name: string }[]
    if (!columns.some((c) => c.name === 'next_at_ms')) this.db.exec('ALTER TABLE batches ADD COLUMN next_at_ms INTEGER NOT NULL DEFAULT 0')
  }
  close(): void {
    this.db.close()
  }
  addBatch(b: Omit<VerifierBatch, 'state' | 'attempts' | 'nextAtMs' | 'checked' | 'matched' | 'attestTx' | 'error'>): void {
    this.db
      .prepare(
        `INSERT OR IGNORE INTO batches (batch_id, node, root, count, data_uri, block_hash, block_number, committed_at)
         VALUES (@batchId, @node, @root, @count, @dataUri, @blockHash, @blockNumber, @committedAt)`,
      )
      .run(b)
  }
  /**
   * The next batch to work on at `nowMs`: not done, its backoff over, and from none of the `busyNodes`
   * (one batch per node at a time, so a slow node holds one worker, not all); fewest attempts first.
   */
  nextToProcess(nowMs = Date.now(), busyNodes: readonly string[] = []): VerifierBatch | undefined {
    const row = this.db
      .prepare(
        `SELECT * FROM batches WHERE state = 'new' AND next_at_ms <= ? AND lower(node) NOT IN (SELECT lower(value) FROM json_each(?))
         ORDER BY attempts, batch_id LIMIT 1`,
      )
      .get(nowMs, JSON.stringify(busyNodes)) as Row | undefined
    return row ? batchOf(row) : undefined
  }
  get(batchId: number): VerifierBatch | undefined {
    const row = this.db.prepare('SELECT * FROM batches WHERE batch_id = ?').get(batchId) as Row | undefined
    return row ? batchOf(row) : undefined
  }
  /** Records a failed attempt: retried at `retryAtMs`, or skipped for good when `retryAtMs` is undefined. */
  failed(batchId: number, error: string, retryAtMs: number | undefined): void {
    this.db
      .prepare(
        `UPDATE batches SET attempts = attempts + 1, error = ?, next_at_ms = COALESCE(?, next_at_ms),
           state = CASE WHEN ? IS NULL THEN 'skipped' ELSE state END WHERE batch_id = ?`,
      )
      .run(error, retryAtMs ?? null, retryAtMs ?? null, batchId)
  }
  done(batchId: number, result: { checked: number; matched: number; attestTx: Hex | null }): void {
    this.db
      .prepare("UPDATE batches SET state = 'done', checked = ?, matched = ?, attest_tx = ?, error = NULL WHERE batch_id = ?")
      .run(result.checked, result.matched, result.attestTx, batchId)
  }
  /** Keeps the input of a challenged receipt: the game is played from it. */
  saveGameInput(hash: Hex, body: string): void {
    this.db.prepare('INSERT OR IGNORE INTO game_inputs (hash, body) VALUES (?, ?)').run(hash.toLowerCase(), body)
  }

  gameInput(hash: Hex): string | undefined {
    return (this.db.prepare('SELECT body FROM game_inputs WHERE hash = ?').get(hash.toLowerCase()) as Row | undefined)?.body as
      | string
      | undefined
  }

  evidence(batchId: number, index: number): Evidence | undefined {
    const r = this.db.prepare('SELECT * FROM evidence WHERE batch_id = ? AND idx = ?').get(batchId, index) as Row | undefined
    return r
      ? {
          batchId: r.batch_id as number,
          index: r.idx as number,
          receiptJson: r.receipt_json as string,
          claimed: r.claimed as Hex,
          recomputed: r.recomputed as Hex,
          challengeId: (r.challenge_id as string | null) ?? null,
          tx: (r.tx as Hex | null) ?? null,
        }
      : undefined
  }
  allEvidence(): Evidence[] {
    return (this.db.prepare('SELECT batch_id, idx FROM evidence ORDER BY batch_id, idx').all() as Row[]).map(
      (r) => this.evidence(r.batch_id as number, r.idx as number)!,
    )
  }
  /**
   * Keeps what was found about a receipt, once. A data challenge's record (`recomputed` 0x: nothing
   * re-executed) gives way to a re-execution's, once the data is published and the output is wrong.
   */
  recordEvidence(e: Omit<Evidence, 'challengeId' | 'tx'>): void {
    this.db
      .prepare(
        `INSERT INTO evidence (batch_id, idx, receipt_json, claimed, recomputed) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (batch_id, idx) DO UPDATE SET recomputed = excluded.recomputed, challenge_id = NULL, tx = NULL
         WHERE evidence.recomputed = '0x' AND excluded.recomputed != '0x'`,
      )
      .run(e.batchId, e.index, e.receiptJson, e.claimed, e.recomputed)
  }
  /** Sends a batch back to be verified again (the data of one of its receipts was published on-chain). */
  reopen(batchId: number): void {
    this.db.prepare("UPDATE batches SET state = 'new', next_at_ms = 0 WHERE batch_id = ? AND state != 'new'").run(batchId)
  }
  /** Input tensors a node published on-chain to answer a data challenge (canonical bytes, hex), by their hash. */
  savePublishedInput(hash: Hex, inputs: readonly Hex[]): void {
    this.db.prepare('INSERT OR IGNORE INTO published_inputs (hash, inputs) VALUES (?, ?)').run(hash.toLowerCase(), JSON.stringify(inputs))
  }
  publishedInput(hash: Hex): Hex[] | undefined {
    const row = this.db.prepare('SELECT inputs FROM published_inputs WHERE hash = ?').get(hash.toLowerCase()) as Row | undefined
    return row ? (JSON.parse(row.inputs as string) as Hex[]) : undefined
  }
  /** An open data challenge (anyone's) and its response deadline (chain seconds): expired by this verifier once past. */
  addDataChallenge(challengeId: string, deadline: number): void {
    this.db.prepare('INSERT OR IGNORE INTO data_challenges (challenge_id, deadline) VALUES (?, ?)').run(challengeId, deadline)
  }
  closeDataChallenge(challengeId: string): void {
    this.db.prepare('DELETE FROM data_challenges WHERE challenge_id = ?').run(challengeId)
  }
  dataChallengesDue(nowS: number): string[] {
    return (this.db.prepare('SELECT challenge_id FROM data_challenges WHERE deadline <= ? ORDER BY deadline').all(nowS) as Row[]).map(
      (r) => r.challenge_id as string,
    )
  }
  hasOpenDataChallenges(): boolean {
    return this.db.prepare('SELECT 1 FROM data_challenges LIMIT 1').get() !== undefined
  }
  challenged(batchId: number, index: number, challengeId: string, tx: Hex): void {
    this.db.prepare('UPDATE evidence SET challenge_id = ?, tx = ? WHERE batch_id = ? AND idx = ?').run(challengeId, tx, batchId, index)
  }
  /** Milliseconds of model runs spent on re-executions, all receipts counted once. */
  computeMsTotal(): number {
    return ((this.db.prepare('SELECT COALESCE(SUM(compute_ms), 0) AS ms FROM checks').get() as Row).ms as number) ?? 0
  }

  stats(): { batches: number; done: number; checked: number; matched: number; challenges: number } {
    const r = this.db
      .prepare(
        "SELECT COUNT(*) AS batches, SUM(state = 'done') AS done, COALESCE(SUM(checked), 0) AS checked, COALESCE(SUM(matched), 0) AS matched FROM batches",
      )
      .get() as Row
    const c = this.db.prepare('SELECT COUNT(*) AS n FROM evidence WHERE challenge_id IS NOT NULL').get() as Row
    return {
      batches: r.batches as number,
      done: (r.done as number) ?? 0,
      checked: r.checked as number,
      matched: r.matched as number,
      challenges: c.n as number,
    }
  }
  /** Records a re-execution; a receipt re-executed again (a retried batch, a restart) keeps its first record, and false is returned. */
  recordCheck(check: Omit<Check, 'seq'>): boolean {
    return (
      this.db
        .prepare(
          'INSERT OR IGNORE INTO checks (batch_id, idx, inference_id, mode, compute_ms, matched, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        .run(check.batchId, check.index, check.inferenceId, check.mode, check.computeMs, check.matched ? 1 : 0, check.atMs).changes === 1
    )
  }

  /** Re-executions recorded after `seq` (exclusive), oldest first. */
  checksAfter(seq: number, limit: number): Check[] {
    return (this.db.prepare('SELECT * FROM checks WHERE seq > ? ORDER BY seq LIMIT ?').all(seq, limit) as Row[]).map((r) => ({
      seq: r.seq as number,
      batchId: r.batch_id as number,
      index: r.idx as number,
      inferenceId: r.inference_id as Hex,
      mode: r.mode as number,
      computeMs: r.compute_ms as number,
      matched: r.matched === 1,
      atMs: r.at_ms as number,
    }))
  }

  getMeta(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as Row | undefined)?.value as string | undefined
  }
  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value)
  }
}
