import { open } from 'node:fs/promises'
import Database from 'better-sqlite3'
import type { Hex } from 'viem'
import { ApiError } from './apiError.js'

/** One answered request as the node stores it (written before the answer leaves the node). */
export type StoredInference = {
  seq: number
  id: Hex
  requestHash: Hex
  client: Hex
  nonce: string
  modelId: Hex
  inputHash: Hex
  outputHash: Hex
  fee: string
  mode: number
  issuedAt: number
  executedAtMs: number
  receiptJson: string
  signature: Hex
  requestJson: string
  clientSignature: Hex
  outputsJson: string
  /** Milliseconds the model run took (the node's own measure; null for receipts stored before it was kept). */
  computeMs: number | null
  /** The request's `channelTotal`: the client's running total authorized to this node, this request included. */
  channelTotal: string
  batchLocal: number | null
  batchIndex: number | null
  /** Set for a decoy (forced error): the secret whose keccak is its output hash (docs/economics.md). */
  decoySecret: Hex | null
}

export type BatchStatusName = 'pending' | 'committed' | 'challenged' | 'finalized'

export type StoredBatch = {
  localId: number
  root: Hex
  count: number
  feeTotal: string
  createdAtMs: number
  txHash: Hex | null
  batchId: number | null
  committedAt: number | null
  commitBlock: number | null
  status: BatchStatusName
  finalizedAt: number | null
  /** The node's commit sequence number of this batch (Settlement.commitBatch), fixed before it is first sent. */
  sequence: number | null
  /** The salt of the batch's decoys (its keccak is committed; revealed after the window). */
  decoySalt: Hex | null
}

/** A stored receipt as a batch being cut needs it (`unbatchedLeaves`): its row number, id and fee. */
export type BatchableReceipt = Pick<StoredInference, 'seq' | 'id' | 'fee'>

/** One leaf of a stored batch: its receipt id, when it was issued, its position. */
export type BatchLeaf = { id: Hex; issuedAt: number; batchIndex: number }

/** A decoy receipt (forced error) the batcher adds to its open batch: `secret` proves its output wrong. */
export type DecoyLeaf = {
  inference: Omit<StoredInference, 'seq' | 'batchLocal' | 'batchIndex' | 'decoySecret'>
  inputBody: string
  secret: Hex
}

/** A receipt's row as it is handed in to be stored (the store numbers it; batches place it later). */
export type NewInferenceRow = Omit<StoredInference, 'seq' | 'batchLocal' | 'batchIndex' | 'decoySecret'>

/** One client's payment channel with this node (docs/protocol.md, "Money"). */
export type Channel = {
  /** The highest `channelTotal` the client signed. */
  authorized: bigint
  /** The sum of the fees of the receipts this node issued to the client. */
  charged: bigint
  /** What the channel has paid on-chain (the last redeemed `channelTotal`), as this node knows it. */
  paid: bigint
}

export type BatchEvent = {
  batchId: number
  kind: 'attested' | 'challenged' | 'expired' | 'overturned' | 'rejected' | 'redundant' | 'finalized'
  actor: string
  data: unknown
  at: number
  block: number
  logIndex: number
}

// A request is answered once per (client, nonce): its hash names no client (two clients may sign the same
// message, each paying for its own), so the hash is not unique here. Indexes on random keys cost a page
// write per receipt once the store outgrows its cache (docs/benchmarks.md, "Ninth pass"). Stores written
// before keep their unique index on request_hash (SQLite cannot drop a table's UNIQUE without rebuilding
// it): there a second client's copy of a message another client already had answered is still refused,
// 409 REQUEST_REPLAYED at insert, as it always was, and each receipt still pays for that index.
//
// Receipt ids and input hashes are random, so an index on them takes a leaf page of its own per
// receipt, and at 66 characters an entry, one that outgrows the page cache early. Stores are looked
// up by `id_key` and `hash_key` instead: the first 52 bits of the hash as an integer (`hashKey`),
// always with the whole hash compared too, so keys two hashes share (a client can grind a pair in about
// 2^26 tries) cost an extra row read, never a wrong answer or a refused input. An id needs no unique
// index of its own: it hashes its client and nonce, which are unique together. Stores written before
// keep their unique indexes on the whole text (`keyedIds`, `keyedInputs` false).
const SCHEMA = `
CREATE TABLE IF NOT EXISTS inferences (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id_key INTEGER NOT NULL,
  id TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  client TEXT NOT NULL,
  nonce TEXT NOT NULL,
  model_id TEXT NOT NULL,
  input_hash TEXT NOT NULL,
  output_hash TEXT NOT NULL,
  fee TEXT NOT NULL,
  mode INTEGER NOT NULL,
  issued_at INTEGER NOT NULL,
  executed_at_ms INTEGER NOT NULL,
  receipt_json TEXT NOT NULL,
  signature TEXT NOT NULL,
  request_json TEXT NOT NULL,
  client_signature TEXT NOT NULL,
  outputs_json TEXT NOT NULL,
  compute_ms REAL,
  channel_total TEXT NOT NULL DEFAULT '0',
  batch_local INTEGER,
  batch_index INTEGER,
  UNIQUE (client, nonce)
);
CREATE INDEX IF NOT EXISTS inferences_unbatched ON inferences (batch_local, seq);
CREATE TABLE IF NOT EXISTS inputs (hash_key INTEGER NOT NULL, hash TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
  local_id INTEGER PRIMARY KEY AUTOINCREMENT,
  root TEXT NOT NULL UNIQUE,
  count INTEGER NOT NULL,
  fee_total TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  tx_hash TEXT,
  batch_id INTEGER UNIQUE,
  committed_at INTEGER,
  commit_block INTEGER,
  status TEXT NOT NULL,
  finalized_at INTEGER,
  sequence INTEGER UNIQUE
);
CREATE TABLE IF NOT EXISTS channels (client TEXT PRIMARY KEY, authorized TEXT NOT NULL, charged TEXT NOT NULL, paid TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS batches_status ON batches (status);
CREATE TABLE IF NOT EXISTS batch_events (
  batch_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  actor TEXT NOT NULL,
  data TEXT NOT NULL,
  at INTEGER NOT NULL,
  block INTEGER NOT NULL,
  log_index INTEGER NOT NULL,
  PRIMARY KEY (block, log_index)
);
CREATE INDEX IF NOT EXISTS batch_events_batch ON batch_events (batch_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`

/** The integer a hash is looked up by in stores written since `id_key` (its first 52 bits: exact in a JS number). */
export function hashKey(hash: string): number {
  return Number.parseInt(hash.slice(2, 15), 16)
}

type Row = Record<string, unknown>

const inferenceOf = (r: Row): StoredInference => ({
  seq: r.seq as number,
  id: r.id as Hex,
  requestHash: r.request_hash as Hex,
  client: r.client as Hex,
  nonce: r.nonce as string,
  modelId: r.model_id as Hex,
  inputHash: r.input_hash as Hex,
  outputHash: r.output_hash as Hex,
  fee: r.fee as string,
  mode: r.mode as number,
  issuedAt: r.issued_at as number,
  executedAtMs: r.executed_at_ms as number,
  receiptJson: r.receipt_json as string,
  signature: r.signature as Hex,
  requestJson: r.request_json as string,
  clientSignature: r.client_signature as Hex,
  outputsJson: r.outputs_json as string,
  computeMs: (r.compute_ms as number | null) ?? null,
  channelTotal: BigInt(r.channel_total as string).toString(),
  batchLocal: (r.batch_local as number | null) ?? null,
  batchIndex: (r.batch_index as number | null) ?? null,
  decoySecret: (r.decoy_secret as Hex | null) ?? null,
})

const batchOf = (r: Row): StoredBatch => ({
  localId: r.local_id as number,
  root: r.root as Hex,
  count: r.count as number,
  feeTotal: r.fee_total as string,
  createdAtMs: r.created_at_ms as number,
  txHash: (r.tx_hash as Hex | null) ?? null,
  batchId: (r.batch_id as number | null) ?? null,
  committedAt: (r.committed_at as number | null) ?? null,
  commitBlock: (r.commit_block as number | null) ?? null,
  status: r.status as BatchStatusName,
  finalizedAt: (r.finalized_at as number | null) ?? null,
  sequence: (r.sequence as number | null) ?? null,
  decoySalt: (r.decoy_salt as Hex | null) ?? null,
})

/**
 * Pure: the channel after charging `fee` to a request whose voucher is `channelTotal`. The highest total
 * the client signed must cover everything charged, this fee included (else 402 CHANNEL_TOTAL_TOO_LOW),
 * so every amount the node can redeem is backed by receipts it issued.
 */
export function chargeChannel(channel: Channel, channelTotal: bigint, fee: bigint): Channel {
  const authorized = channelTotal > channel.authorized ? channelTotal : channel.authorized
  const charged = channel.charged + fee
  if (charged > authorized) {
    throw new ApiError(
      402,
      'CHANNEL_TOTAL_TOO_LOW',
      `the client's vouchers authorize ${authorized} in total, this node has charged ${channel.charged} and the fee is ${fee}: sign a channelTotal of at least ${charged}`,
      { authorized, charged: channel.charged, fee },
    )
  }
  return { ...channel, authorized, charged }
}

/** Channel totals are stored as fixed-width decimal text, so SQL orders them as numbers. */
const padTotal = (total: bigint | string) => BigInt(total).toString().padStart(40, '0')

/**
 * The inference node's durable state in SQLite (WAL; synchronous=FULL unless opened with
 * `syncOnCommit: false`): receipts and their inputs, batches, the chain events about them, and the
 * event cursor. A receipt is on disk before its answer is sent (here by FULL commits, in the node by
 * `ReceiptWriter`'s fsync), so an acknowledged receipt survives a crash.
 */
export class ReceiptStore {
  readonly db: Database.Database

  private readonly path: string
  private readonly syncOnCommit: boolean
  /** Receipts looked up by `id_key` (stores written since it; before, by a unique index on `id`). */
  private readonly keyedIds: boolean
  /** Inputs looked up by `hash_key` (stores written since it; before, `hash` was the primary key). */
  private readonly keyedInputs: boolean

  /**
   * `autoCheckpointPages` sets how long the WAL grows before a commit on this connection checkpoints it;
   * `cacheMb` the connection's page cache (SQLite's default: 2 MB).
   * `syncOnCommit: false` opens a connection whose commits do not fsync (synchronous=NORMAL: they
   * survive the process's crash, not the machine's), for a process whose durable steps sync
   * themselves: the receipts (`ReceiptWriter` fsyncs before answering) and a new batch (`createBatch`
   * fsyncs before its commit can be sent); the rest (cursors, chain events, statuses) is re-derived
   * from the chain.
   */
  constructor(
    path: string,
    options: { syncOnCommit?: boolean; autoCheckpointPages?: number | undefined; cacheMb?: number | undefined } = {},
  ) {
    this.path = path
    this.syncOnCommit = options.syncOnCommit !== false
    this.db = new Database(path)
    this.db.pragma('journal_mode = WAL')
    this.db.pragma(options.syncOnCommit === false ? 'synchronous = NORMAL' : 'synchronous = FULL')
    this.db.pragma('busy_timeout = 5000')
    if (options.cacheMb !== undefined) this.db.pragma(`cache_size = -${Math.floor(options.cacheMb * 1024)}`)
    // A commit that finds the WAL this long (in pages; SQLite's default 1,000) checkpoints it first: where
    // a checkpointer thread does that (checkpointer.ts), only a safety net far above the WAL's usual size.
    if (options.autoCheckpointPages !== undefined) this.db.pragma(`wal_autocheckpoint = ${Math.floor(options.autoCheckpointPages)}`)
    this.db.exec(SCHEMA)
    // Stores written before compute times were kept gain the column (NULL for their receipts).
    const columns = this.db.prepare('PRAGMA table_info(inferences)').all() as { name: string }[]
    if (!columns.some((c) => c.name === 'compute_ms')) this.db.exec('ALTER TABLE inferences ADD COLUMN compute_ms REAL')
    if (!columns.some((c) => c.name === 'decoy_secret')) this.db.exec('ALTER TABLE inferences ADD COLUMN decoy_secret TEXT')
    this.keyedIds = columns.some((c) => c.name === 'id_key')
    if (this.keyedIds) this.db.exec('CREATE INDEX IF NOT EXISTS inferences_id ON inferences (id_key)')
    const inputColumns = this.db.prepare('PRAGMA table_info(inputs)').all() as { name: string }[]
    this.keyedInputs = inputColumns.some((c) => c.name === 'hash_key')
    if (this.keyedInputs) this.db.exec('CREATE INDEX IF NOT EXISTS inputs_hash ON inputs (hash_key)')
    // The open batch's decoys, read after every group of receipts (`openDecoyCount`): found without
    // walking the open batch's real receipts. A receipt's insert does not write it (only decoys are in it).
    this.db.exec(
      'CREATE INDEX IF NOT EXISTS inferences_open_decoys ON inferences (seq) WHERE batch_local IS NULL AND decoy_secret IS NOT NULL',
    )
    // A challenged output's decoy secret (`decoySecretOf`, in a dispute): found without a scan of every
    // receipt stored, on the event loop. Only decoys are in it.
    this.db.exec('CREATE INDEX IF NOT EXISTS inferences_decoys ON inferences (output_hash) WHERE decoy_secret IS NOT NULL')
    const batchColumns = this.db.prepare('PRAGMA table_info(batches)').all() as { name: string }[]
    if (!batchColumns.some((c) => c.name === 'decoy_salt')) this.db.exec('ALTER TABLE batches ADD COLUMN decoy_salt TEXT')
    // Each channel's best voucher in a finalized batch, kept as batches finalize (stores from before gain it once, by one scan).
    const channelColumns = this.db.prepare('PRAGMA table_info(channels)').all() as { name: string }[]
    if (!channelColumns.some((c) => c.name === 'final_seq')) {
      this.db.transaction(() => {
        this.db.exec('ALTER TABLE channels ADD COLUMN final_seq INTEGER')
        for (const batch of this.db.prepare("SELECT local_id FROM batches WHERE status = 'finalized'").all() as Row[])
          this.noteFinalized(batch.local_id as number)
      })()
    }
  }

  close(): void {
    this.db.close()
  }

  private readonly statements = new Map<string, Database.Statement>()
  /** A prepared statement kept for reuse: the ones every request runs are compiled once. */
  private statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql)
    if (!statement) {
      statement = this.db.prepare(sql)
      this.statements.set(sql, statement)
    }
    return statement
  }

  /** Stores an input's body under its hash unless it is there already (inputs repeat across receipts). */
  private insertInput(hash: Hex, body: string): void {
    if (this.keyedInputs) {
      const key = hashKey(hash)
      this.statement(
        'INSERT INTO inputs (hash_key, hash, body) SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM inputs WHERE hash_key = ? AND hash = ?)',
      ).run(key, hash, body, key, hash)
    } else this.statement('INSERT OR IGNORE INTO inputs (hash, body) VALUES (?, ?)').run(hash, body)
  }

  /** `INSERT INTO inferences (<columns>) VALUES (<values>)`, with `id_key` (named `@idKey`) first where the store keeps it. */
  private insertInferenceSql(columns: string, values: string): string {
    return this.keyedIds
      ? `INSERT INTO inferences (id_key, ${columns}) VALUES (${values.startsWith('@') ? '@idKey' : '?'}, ${values})`
      : `INSERT INTO inferences (${columns}) VALUES (${values})`
  }

  /**
   * Stores a receipt, its input and its client's channel update atomically. Refused: a replayed request
   * (the same client and nonce), and a fee the client's vouchers do not cover (the highest
   * `channelTotal` it signed must reach everything charged, this fee included), and whatever `admit`
   * refuses by throwing (it runs first, given the client's channel as charged so far).
   */
  insertInference(inference: NewInferenceRow, inputBody: string, admit?: (channel: Channel) => void): void {
    const [refusal] = this.insertInferences([{ inference, inputBody, admit }])
    if (refusal !== undefined) throw refusal
  }

  /**
   * Stores a group of receipts in one transaction (group commit), each as `insertInference` would in
   * turn: a receipt refused (what it throws is its entry of the result, `undefined` for a stored one)
   * changes nothing, and the checks of each see the receipts stored before it in the group. Per
   * receipt, two statements (its row, its input); per client of the group, one channel read and one
   * write. The replay check is the table's unique index on (client, nonce). An error that is no refusal (the disk)
   * rolls the whole group back and is thrown.
   */
  insertInferences(
    items: readonly { inference: NewInferenceRow; inputBody: string; admit?: ((channel: Channel) => void) | undefined }[],
  ): (unknown | undefined)[] {
    const refusals: (unknown | undefined)[] = new Array(items.length).fill(undefined)
    const insertRow = this.statement(
      this.insertInferenceSql(
        `id, request_hash, client, nonce, model_id, input_hash, output_hash, fee, mode, issued_at, executed_at_ms,
           receipt_json, signature, request_json, client_signature, outputs_json, compute_ms, channel_total`,
        '?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?',
      ),
    )
    const store = this.db.transaction(() => {
      const channels = new Map<string, Channel>()
      for (const [k, { inference: i, inputBody, admit }] of items.entries()) {
        const client = i.client.toLowerCase()
        try {
          const before = channels.get(client) ?? this.channel(client as Hex)
          admit?.(before)
          const after = chargeChannel(before, BigInt(i.channelTotal), BigInt(i.fee))
          try {
            // Statement-level: a row refused by a unique index leaves the transaction and the rows before it as they were.
            const values = [
              i.id,
              i.requestHash,
              i.client,
              i.nonce,
              i.modelId,
              i.inputHash,
              i.outputHash,
              i.fee,
              i.mode,
              i.issuedAt,
              i.executedAtMs,
              i.receiptJson,
              i.signature,
              i.requestJson,
              i.clientSignature,
              i.outputsJson,
              i.computeMs,
              padTotal(i.channelTotal),
            ]
            if (this.keyedIds) insertRow.run(hashKey(i.id), ...values)
            else insertRow.run(...values)
          } catch (error) {
            if ((error as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw error
            throw this.replayError(i)
          }
          this.insertInput(i.inputHash, inputBody)
          channels.set(client, after)
        } catch (error) {
          if (!(error instanceof ApiError)) throw error
          refusals[k] = error
        }
      }
      for (const [client, channel] of channels) this.writeChannel(client as Hex, channel)
    })
    // It reads before it writes: the write lock first, so another connection's commit cannot come between (see ReceiptWriter).
    store.immediate()
    return refusals
  }

  /** The refusal of a receipt whose request was already answered (its client and nonce). */
  private replayError(i: NewInferenceRow): ApiError {
    const replay = this.statement('SELECT id FROM inferences WHERE client = ? AND nonce = ?').get(i.client, i.nonce) as Row | undefined
    return new ApiError(409, 'REQUEST_REPLAYED', `request ${i.requestHash} (client ${i.client}, nonce ${i.nonce}) was already answered`, {
      inferenceId: replay?.id ?? null,
    })
  }

  /** The client's channel with this node (all zero before its first request). O(1). */
  channel(client: Hex): Channel {
    const row = this.statement('SELECT authorized, charged, paid FROM channels WHERE client = ?').get(client.toLowerCase()) as
      | Row
      | undefined
    if (!row) return { authorized: 0n, charged: 0n, paid: 0n }
    return { authorized: BigInt(row.authorized as string), charged: BigInt(row.charged as string), paid: BigInt(row.paid as string) }
  }

  private writeChannel(client: Hex, channel: Channel): void {
    this.statement(
      `INSERT INTO channels (client, authorized, charged, paid) VALUES (?, ?, ?, ?)
         ON CONFLICT (client) DO UPDATE SET authorized = excluded.authorized, charged = excluded.charged, paid = excluded.paid`,
    ).run(client.toLowerCase(), channel.authorized.toString(), channel.charged.toString(), channel.paid.toString())
  }

  /** The client's receipt whose request carries the highest `channelTotal`. */
  highestVoucher(client: Hex): StoredInference | undefined {
    const row = this.db
      .prepare('SELECT * FROM inferences WHERE client = ? ORDER BY channel_total DESC LIMIT 1')
      .get(client.toLowerCase()) as Row | undefined
    return row ? inferenceOf(row) : undefined
  }

  /** Records what the channel has paid on-chain (after a redemption, or read from the chain). Never moves back. */
  setChannelPaid(client: Hex, paid: bigint): void {
    const channel = this.channel(client)
    if (paid > channel.paid) this.writeChannel(client, { ...channel, paid })
  }

  /** Records, per client of a newly finalized batch, its receipt with the highest `channelTotal` if above the channel's best so far. */
  private noteFinalized(localId: number): void {
    // Decoys are not vouchers: their clients are the node's own keys and paid nothing.
    const rows = this.statement('SELECT client, seq, channel_total FROM inferences WHERE batch_local = ? AND decoy_secret IS NULL').all(
      localId,
    ) as Row[]
    const best = new Map<string, Row>()
    for (const row of rows) {
      const current = best.get(row.client as string)
      if (!current || BigInt(row.channel_total as string) > BigInt(current.channel_total as string)) best.set(row.client as string, row)
    }
    for (const [client, row] of best) {
      const known = this.statement(
        'SELECT i.channel_total FROM channels c JOIN inferences i ON i.seq = c.final_seq WHERE c.client = ?',
      ).get(client) as Row | undefined
      if (known && BigInt(known.channel_total as string) >= BigInt(row.channel_total as string)) continue
      this.statement(
        `INSERT INTO channels (client, authorized, charged, paid, final_seq) VALUES (?, '0', '0', '0', ?)
         ON CONFLICT (client) DO UPDATE SET final_seq = excluded.final_seq`,
      ).run(client, row.seq)
    }
  }

  /**
   * Per client, the receipt with the highest `channelTotal` among those in finalized batches, when it
   * is above what the channel paid: the voucher to redeem next (`excluded`: receipts found overturned).
   * Reads one row per client with a finalized voucher (kept as batches finalize), not the history.
   */
  redeemableVouchers(excluded: ReadonlySet<string> = new Set()): StoredInference[] {
    const rows = this.statement(
      'SELECT i.*, c.paid AS channel_paid FROM channels c JOIN inferences i ON i.seq = c.final_seq WHERE c.final_seq IS NOT NULL',
    ).all() as Row[]
    const vouchers: StoredInference[] = []
    for (const row of rows) {
      let inference: StoredInference | undefined = inferenceOf(row)
      if (excluded.has(inference.id)) {
        // The best one was found overturned: the next best finalized voucher of this client (rare; a scan of its receipts).
        const next = this.db
          .prepare(
            `SELECT i.* FROM inferences i JOIN batches b ON b.local_id = i.batch_local
             WHERE i.client = ? AND b.status = 'finalized' ORDER BY i.channel_total DESC`,
          )
          .all(inference.client) as Row[]
        inference = next.map(inferenceOf).find((i) => !excluded.has(i.id))
      }
      if (inference && BigInt(inference.channelTotal) > BigInt(row.channel_paid as string)) vouchers.push(inference)
    }
    return vouchers
  }

  /**
   * What a request's price check reads, in one statement: whether the client's nonce was already
   * answered (`replayed`) and its client's channel (`channel`).
   */
  admission(client: Hex, nonce: string): { replayed: boolean; channel: Channel } {
    const row = this.statement(
      `SELECT c.authorized, c.charged, c.paid,
         EXISTS (SELECT 1 FROM inferences WHERE client = ? AND nonce = ?) AS replayed
       FROM (SELECT 1) LEFT JOIN channels c ON c.client = ?`,
    ).get(client, nonce, client.toLowerCase()) as Row
    const channel =
      row.authorized === null
        ? { authorized: 0n, charged: 0n, paid: 0n }
        : { authorized: BigInt(row.authorized as string), charged: BigInt(row.charged as string), paid: BigInt(row.paid as string) }
    return { replayed: row.replayed === 1, channel }
  }

  /** Fees this client was charged that its channel has not paid on-chain yet. O(1). */
  outstandingFees(client: Hex): bigint {
    const channel = this.channel(client)
    return channel.charged > channel.paid ? channel.charged - channel.paid : 0n
  }

  /** The oldest real receipts in no batch yet (the open batch's decoys are not among them). */
  unbatched(limit: number): StoredInference[] {
    return (
      this.statement('SELECT * FROM inferences WHERE batch_local IS NULL AND decoy_secret IS NULL ORDER BY seq LIMIT ?').all(limit) as Row[]
    ).map(inferenceOf)
  }

  /** The oldest real receipts in no batch yet, as a batch is cut from them: what places them in it, not their rows. */
  unbatchedLeaves(limit: number): BatchableReceipt[] {
    return this.statement(
      'SELECT seq, id, fee FROM inferences WHERE batch_local IS NULL AND decoy_secret IS NULL ORDER BY seq LIMIT ?',
    ).all(limit) as BatchableReceipt[]
  }

  /** The newest real receipts in no batch yet, newest first (a decoy's template is one of them). */
  latestUnbatched(limit: number): StoredInference[] {
    return (
      this.statement('SELECT * FROM inferences WHERE batch_local IS NULL AND decoy_secret IS NULL ORDER BY seq DESC LIMIT ?').all(
        limit,
      ) as Row[]
    ).map(inferenceOf)
  }

  /** When the oldest unbatched real receipt was answered (receipts are stored in the order they were answered). */
  oldestUnbatchedMs(): number | undefined {
    const row = this.statement(
      'SELECT executed_at_ms AS t FROM inferences WHERE batch_local IS NULL AND decoy_secret IS NULL ORDER BY seq LIMIT 1',
    ).get() as Row | undefined
    return (row?.t as number | null | undefined) ?? undefined
  }

  /** How many real receipts are in no batch yet (reads those only; the open batch's decoys are not counted). */
  unbatchedCount(): number {
    // All unbatched rows (counted in the unbatched index alone) less the open batch's decoys (their own index).
    return (
      ((this.statement('SELECT COUNT(*) AS n FROM inferences WHERE batch_local IS NULL').get() as Row).n as number) - this.openDecoyCount()
    )
  }

  /**
   * The decoy salt of the open batch (the one receipts are joining), drawn when it opened and kept
   * until it is cut (`createBatch` replaces it in the same transaction). Undefined before the first.
   */
  openBatchSalt(): Hex | undefined {
    return this.getMeta('open_batch_salt') as Hex | undefined
  }

  /** Opens a batch: its decoy salt, set only when none is open (returns the open batch's salt). */
  openBatch(salt: Hex): Hex {
    this.statement("INSERT OR IGNORE INTO meta (key, value) VALUES ('open_batch_salt', ?)").run(salt)
    return this.openBatchSalt()!
  }

  /** The open batch's decoys, in the order they were made (decoy j is the j-th). */
  openDecoys(): StoredInference[] {
    return (
      this.statement(
        'SELECT * FROM inferences INDEXED BY inferences_open_decoys WHERE batch_local IS NULL AND decoy_secret IS NOT NULL ORDER BY seq',
      ).all() as Row[]
    ).map(inferenceOf)
  }

  /** How many decoys the open batch holds (counted; `openDecoys` reads them). */
  openDecoyCount(): number {
    return (
      this.statement(
        'SELECT COUNT(*) AS n FROM inferences INDEXED BY inferences_open_decoys WHERE batch_local IS NULL AND decoy_secret IS NOT NULL',
      ).get() as Row
    ).n as number
  }

  /**
   * Stores a decoy of the open batch, durably (its WAL synced before this returns): it enters the
   * receipts feed now, between the real receipts, and joins its batch when the batch is cut.
   */
  async insertDecoy(leaf: DecoyLeaf): Promise<StoredInference> {
    this.db.transaction(() => {
      this.insertInput(leaf.inference.inputHash, leaf.inputBody)
      this.statement(
        this.insertInferenceSql(
          `id, request_hash, client, nonce, model_id, input_hash, output_hash, fee, mode, issued_at, executed_at_ms,
           receipt_json, signature, request_json, client_signature, outputs_json, compute_ms, channel_total, decoy_secret`,
          `@id, @requestHash, @client, @nonce, @modelId, @inputHash, @outputHash, @fee, @mode, @issuedAt, @executedAtMs,
           @receiptJson, @signature, @requestJson, @clientSignature, @outputsJson, @computeMs, @channelTotal, @secret`,
        ),
      ).run({
        ...leaf.inference,
        idKey: hashKey(leaf.inference.id),
        channelTotal: padTotal(leaf.inference.channelTotal),
        secret: leaf.secret,
      })
      // Its client's channel moves as for any receipt (what `/v1/channels/:client` shows stays consistent).
      const channel = this.channel(leaf.inference.client)
      const total = BigInt(leaf.inference.channelTotal)
      this.writeChannel(leaf.inference.client, {
        ...channel,
        authorized: total > channel.authorized ? total : channel.authorized,
        charged: channel.charged + BigInt(leaf.inference.fee),
      })
    })()
    // Durable before it resolves, the fsync on libuv's pool: the event loop serves requests meanwhile.
    if (!this.syncOnCommit) await this.syncWalAsync()
    return this.getInference(leaf.inference.id)!
  }

  /** Deletes open-batch decoys a cut does not take (a batch cut smaller than planned: see `Batcher`). */
  dropOpenDecoys(seqs: readonly number[]): void {
    const drop = this.statement('DELETE FROM inferences WHERE seq = ? AND batch_local IS NULL AND decoy_secret IS NOT NULL')
    this.db.transaction(() => {
      for (const seq of seqs) drop.run(seq)
    })()
  }

  /** The highest commit sequence number given to a batch so far (0 when none). */
  lastSequence(): number {
    return ((this.statement('SELECT MAX(sequence) AS s FROM batches').get() as Row).s as number | null) ?? 0
  }

  /**
   * Groups receipts into a pending batch (before its commit transaction is sent), numbered `sequence`
   * for good: re-sending it after a crash can then never commit it twice. Resolves once the batch is
   * durable — the fsync on libuv's pool, the event loop serving requests meanwhile — so its commit
   * transaction can be sent.
   */
  async createBatch(
    root: Hex,
    leaves: readonly (BatchableReceipt | DecoyLeaf)[],
    feeTotal: bigint,
    nowMs: number,
    sequence: number,
    decoySalt: Hex | null = null,
    /** The salt of the batch that opens as this one is cut (replaces the open batch's, atomically). */
    nextSalt?: Hex,
  ): Promise<StoredBatch> {
    const create = this.db.transaction(() => {
      if (nextSalt !== undefined) this.setMeta('open_batch_salt', nextSalt)
      const info = this.db
        .prepare(
          "INSERT INTO batches (root, count, fee_total, created_at_ms, status, sequence, decoy_salt) VALUES (?, ?, ?, ?, 'pending', ?, ?)",
        )
        .run(root, leaves.length, feeTotal.toString(), nowMs, sequence, decoySalt)
      const update = this.statement('UPDATE inferences SET batch_local = ?, batch_index = ? WHERE seq = ? AND batch_local IS NULL')
      // Decoys enter the store with their batch, in the same transaction: never left unbatched.
      const insertDecoy = this.db.prepare(
        this.insertInferenceSql(
          `id, request_hash, client, nonce, model_id, input_hash, output_hash, fee, mode, issued_at, executed_at_ms,
           receipt_json, signature, request_json, client_signature, outputs_json, compute_ms, channel_total, batch_local, batch_index, decoy_secret`,
          `@id, @requestHash, @client, @nonce, @modelId, @inputHash, @outputHash, @fee, @mode, @issuedAt, @executedAtMs,
           @receiptJson, @signature, @requestJson, @clientSignature, @outputsJson, @computeMs, @channelTotal, @batchLocal, @batchIndex, @secret`,
        ),
      )
      leaves.forEach((leaf, index) => {
        if ('secret' in leaf) {
          this.insertInput(leaf.inference.inputHash, leaf.inputBody)
          insertDecoy.run({
            ...leaf.inference,
            idKey: hashKey(leaf.inference.id),
            batchLocal: info.lastInsertRowid,
            batchIndex: index,
            secret: leaf.secret,
          })
          return
        }
        const changed = update.run(info.lastInsertRowid, index, leaf.seq).changes
        if (changed !== 1) throw new Error(`receipt ${leaf.id} is already in a batch`)
      })
      return Number(info.lastInsertRowid)
    })
    const localId = create()
    // On disk before its commit transaction can be sent: a batch lost after being sent would be re-made and committed twice.
    if (!this.syncOnCommit) await this.syncWalAsync()
    return this.batchByLocal(localId)!
  }

  /** Forces what was committed on this database to disk: an fdatasync of its WAL, on libuv's pool. */
  private async syncWalAsync(): Promise<void> {
    const file = await open(`${this.path}-wal`, 'r+')
    try {
      await file.datasync()
    } finally {
      await file.close()
    }
  }

  setBatchTx(localId: number, txHash: Hex): void {
    this.statement('UPDATE batches SET tx_hash = ? WHERE local_id = ?').run(txHash, localId)
  }

  markCommitted(localId: number, batchId: number, committedAt: number, commitBlock: number): void {
    this.db
      .prepare(
        "UPDATE batches SET batch_id = ?, committed_at = ?, commit_block = ?, status = CASE status WHEN 'pending' THEN 'committed' ELSE status END WHERE local_id = ?",
      )
      .run(batchId, committedAt, commitBlock, localId)
  }

  setStatus(batchId: number, status: BatchStatusName, at?: number): void {
    if (status === 'finalized')
      this.db.transaction(() => {
        this.statement("UPDATE batches SET status = 'finalized', finalized_at = ? WHERE batch_id = ?").run(at ?? null, batchId)
        const batch = this.batchById(batchId)
        if (batch) this.noteFinalized(batch.localId)
      })()
    else this.statement("UPDATE batches SET status = ? WHERE batch_id = ? AND status != 'finalized'").run(status, batchId)
  }

  batchesWithStatus(status: BatchStatusName): StoredBatch[] {
    return (this.statement('SELECT * FROM batches WHERE status = ? ORDER BY local_id').all(status) as Row[]).map(batchOf)
  }

  batchByLocal(localId: number): StoredBatch | undefined {
    const row = this.statement('SELECT * FROM batches WHERE local_id = ?').get(localId) as Row | undefined
    return row ? batchOf(row) : undefined
  }

  batchByRoot(root: Hex): StoredBatch | undefined {
    const row = this.statement('SELECT * FROM batches WHERE root = ?').get(root.toLowerCase()) as Row | undefined
    return row ? batchOf(row) : undefined
  }

  batchById(batchId: number): StoredBatch | undefined {
    const row = this.statement('SELECT * FROM batches WHERE batch_id = ?').get(batchId) as Row | undefined
    return row ? batchOf(row) : undefined
  }

  /** A batch's receipts in leaf order, only what its tree and their trust levels need (no JSON columns). */
  batchLeaves(localId: number): BatchLeaf[] {
    return this.statement('SELECT id, issued_at, batch_index FROM inferences WHERE batch_local = ? ORDER BY batch_index')
      .all(localId)
      .map((r) => {
        const row = r as Row
        return { id: row.id as Hex, issuedAt: row.issued_at as number, batchIndex: row.batch_index as number }
      })
  }

  batchInferences(localId: number): StoredInference[] {
    return (this.statement('SELECT * FROM inferences WHERE batch_local = ? ORDER BY batch_index').all(localId) as Row[]).map(inferenceOf)
  }

  /** `columns` of the receipt with this id or the input with this hash: by its integer key where the store keeps one. */
  private rowByHash(columns: string, table: 'inferences' | 'inputs', hash: Hex): Row | undefined {
    const lower = hash.toLowerCase()
    const [keyed, key, column] = table === 'inferences' ? [this.keyedIds, 'id_key', 'id'] : [this.keyedInputs, 'hash_key', 'hash']
    return (
      keyed
        ? this.statement(`SELECT ${columns} FROM ${table} WHERE ${key} = ? AND ${column} = ?`).get(hashKey(lower), lower)
        : this.statement(`SELECT ${columns} FROM ${table} WHERE ${column} = ?`).get(lower)
    ) as Row | undefined
  }

  getInference(id: Hex): StoredInference | undefined {
    const row = this.rowByHash('*', 'inferences', id)
    return row ? inferenceOf(row) : undefined
  }

  /**
   * The stored outputs (`outputs_json`) of an inference this node answered with `outputHash` for
   * `inputHash` (a scan of the store: the adversary package's lying defender uses it, no request does).
   */
  outputsOf(inputHash: Hex, outputHash: Hex): string | undefined {
    const row = this.db
      .prepare('SELECT outputs_json FROM inferences WHERE input_hash = ? AND output_hash = ? LIMIT 1')
      .get(inputHash.toLowerCase(), outputHash.toLowerCase()) as Row | undefined
    return row?.outputs_json as string | undefined
  }

  /** The secret of this node's decoy with that output hash, if it is one (docs/economics.md, "Decoys"). */
  decoySecretOf(outputHash: Hex): Hex | undefined {
    const row = this.db
      .prepare('SELECT decoy_secret FROM inferences WHERE output_hash = ? AND decoy_secret IS NOT NULL')
      .get(outputHash.toLowerCase()) as Row | undefined
    return (row?.decoy_secret as Hex | undefined) ?? undefined
  }

  /** Milliseconds of model runs behind this node's answers (decoys ran nothing and are not counted). */
  computeMsTotal(): number {
    const row = this.db.prepare('SELECT COALESCE(SUM(compute_ms), 0) AS ms FROM inferences WHERE decoy_secret IS NULL').get() as Row
    return (row.ms as number) ?? 0
  }

  getInput(hash: Hex): string | undefined {
    return this.rowByHash('body', 'inputs', hash)?.body as string | undefined
  }

  /** Records a chain event about one of our batches; recording the same log twice is a no-op (and returns false). */
  recordEvent(event: BatchEvent): boolean {
    return (
      this.db
        .prepare('INSERT OR IGNORE INTO batch_events (batch_id, kind, actor, data, at, block, log_index) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(event.batchId, event.kind, event.actor, JSON.stringify(event.data), event.at, event.block, event.logIndex).changes === 1
    )
  }

  /** Receipts answered after `seq` (exclusive), oldest first: what an indexer follows. */
  receiptsAfter(
    seq: number,
    limit: number,
  ): { seq: number; id: Hex; receiptJson: string; signature: Hex; executedAtMs: number; computeMs: number | null }[] {
    return (
      this.db
        .prepare('SELECT seq, id, receipt_json, signature, executed_at_ms, compute_ms FROM inferences WHERE seq > ? ORDER BY seq LIMIT ?')
        .all(seq, limit) as Row[]
    ).map((r) => ({
      seq: r.seq as number,
      id: r.id as Hex,
      receiptJson: r.receipt_json as string,
      signature: r.signature as Hex,
      executedAtMs: r.executed_at_ms as number,
      computeMs: (r.compute_ms as number | null) ?? null,
    }))
  }

  /** Receipts not in a committed batch yet (unbatched, or in a batch whose commit is not mined). */
  uncommittedCount(): number {
    return (
      this.db
        .prepare('SELECT COUNT(*) AS n FROM inferences i LEFT JOIN batches b ON b.local_id = i.batch_local WHERE b.batch_id IS NULL')
        .get() as Row
    ).n as number
  }

  batchEvents(batchId: number): BatchEvent[] {
    return (this.statement('SELECT * FROM batch_events WHERE batch_id = ? ORDER BY block, log_index').all(batchId) as Row[]).map((r) => ({
      batchId: r.batch_id as number,
      kind: r.kind as BatchEvent['kind'],
      actor: r.actor as string,
      data: JSON.parse(r.data as string),
      at: r.at as number,
      block: r.block as number,
      logIndex: r.log_index as number,
    }))
  }

  counts(): { inferences: number; unbatched: number; pendingBatches: number; committedBatches: number; finalizedBatches: number } {
    const one = (sql: string) => (this.db.prepare(sql).get() as Row).n as number
    return {
      inferences: one('SELECT COUNT(*) AS n FROM inferences'),
      unbatched: one('SELECT COUNT(*) AS n FROM inferences WHERE batch_local IS NULL'),
      pendingBatches: one("SELECT COUNT(*) AS n FROM batches WHERE status = 'pending'"),
      committedBatches: one("SELECT COUNT(*) AS n FROM batches WHERE status IN ('committed', 'challenged')"),
      finalizedBatches: one("SELECT COUNT(*) AS n FROM batches WHERE status = 'finalized'"),
    }
  }

  getMeta(key: string): string | undefined {
    return (this.statement('SELECT value FROM meta WHERE key = ?').get(key) as Row | undefined)?.value as string | undefined
  }

  setMeta(key: string, value: string): void {
    this.statement('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value)
  }
}
