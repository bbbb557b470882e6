import type { Hex } from 'viem'
import type { NewInference } from '../src/receiptSink.js'

/** A 32-byte value numbered `n`, tagged by its first byte. */
export const h = (n: number, tag = 1) => `0x${tag.toString(16).padStart(2, '0')}${n.toString(16).padStart(62, '0')}` as Hex

/** A receipt's row for storage tests: `n` numbers it, `total` is its voucher's channel total, `fee` its fee. */
export function receiptRow(n: number, client: Hex, total: bigint, fee: bigint): NewInference {
  return {
    id: h(n, 1),
    requestHash: h(n, 2),
    client,
    nonce: String(n),
    modelId: h(0, 3),
    inputHash: h(n % 3, 4),
    outputHash: h(n, 5),
    fee: fee.toString(),
    mode: 0,
    issuedAt: 1_700_000_000,
    executedAtMs: 1_700_000_000_000 + n,
    receiptJson: '{}',
    signature: '0x',
    requestJson: '{}',
    clientSignature: '0x',
    outputsJson: '{}',
    computeMs: 0.1,
    channelTotal: total.toString(),
  }
}

/** The `inferences` and `inputs` tables as stores created before `id_key`/`hash_key` have them (unique indexes on the hashes' text). */
export const TEXT_LAYOUT = `CREATE TABLE inferences (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, request_hash TEXT NOT NULL, client TEXT NOT NULL,
  nonce TEXT NOT NULL, model_id TEXT NOT NULL, input_hash TEXT NOT NULL, output_hash TEXT NOT NULL, fee TEXT NOT NULL,
  mode INTEGER NOT NULL, issued_at INTEGER NOT NULL, executed_at_ms INTEGER NOT NULL, receipt_json TEXT NOT NULL,
  signature TEXT NOT NULL, request_json TEXT NOT NULL, client_signature TEXT NOT NULL, outputs_json TEXT NOT NULL,
  compute_ms REAL, channel_total TEXT NOT NULL DEFAULT '0', batch_local INTEGER, batch_index INTEGER, UNIQUE (client, nonce));
  CREATE TABLE inputs (hash TEXT PRIMARY KEY, body TEXT NOT NULL);`
