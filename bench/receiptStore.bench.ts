/**
 * What storing a receipt costs the node's SQLite store, alone (no fsync, no HTTP): `insertInferences` in
 * groups of 32, as the group commit calls it, with rows of a real receipt's sizes; and the price check's
 * read (`admission`) on the writing connection and on a second one, whose page cache each commit of the
 * first makes stale. Beside them, the floor of an append-only log of the same receipts: each group's rows
 * and inputs as tab-separated lines appended to a file with one write (no fsync either, no index;
 * docs/benchmarks.md, "Twelfth pass"). Inputs either all distinct (each receipt stores its input) or 100 repeated (the
 * load bench's workload).
 *
 *   npx tsx --conditions=source bench/receiptStore.bench.ts [--receipts 40000] [--group 32] (receipts per transaction)
 *     [--stored 1000000] (receipts of distinct inputs written first; then only the distinct case, the WAL
 *     not copied back while measuring, so the WAL written per receipt is printed too) [--layout text] (the
 *     tables as stores written before `id_key`/`hash_key` have them: unique indexes on the hashes' text)
 *     [--cache-mb 64] (the writing connection's page cache, as the node's)
 */
import { randomBytes } from 'node:crypto'
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import type { Hex } from 'viem'
import { type NewInferenceRow, ReceiptStore } from '../packages/node/src/receiptStore.js'
import { TEXT_LAYOUT } from '../packages/node/test/receiptRows.js'

const flag = (name: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : undefined
}
const receipts = Number(flag('receipts') ?? 40_000)
const group = Number(flag('group') ?? 32)
const stored = Number(flag('stored') ?? 0)
const layout = flag('layout') ?? 'keyed'
const cacheMb = Number(flag('cache-mb') ?? 64)
const hex = (bytes: number) => `0x${randomBytes(bytes).toString('hex')}` as Hex
const client = hex(20)
// The stored JSON of an mnist-8 receipt: receipt ~560 characters, request ~420, outputs ~330, input ~3,500.
const text = (n: number) => JSON.stringify({ pad: 'x'.repeat(n - 12) })

console.log(
  `${receipts} receipts in groups of ${group}, ${stored} stored first, ${layout} layout, ${cacheMb}-MB page cache; µs per receipt (per call for admission)`,
)
console.log(
  '| inputs | insertInferences | append-only log, the same bytes | admission, writing connection | admission, other connection after each commit | WAL KB per receipt |',
)
console.log('| --- | ---: | ---: | ---: | ---: | ---: |')
for (const distinct of stored > 0 ? [true] : [true, false]) {
  const dir = mkdtempSync(join(tmpdir(), 'verity-store-bench-'))
  const path = join(dir, 'node.sqlite')
  if (layout === 'text') {
    const db = new Database(path)
    db.exec(TEXT_LAYOUT)
    db.close()
  }
  const writer = new ReceiptStore(path, { syncOnCommit: false, autoCheckpointPages: 16_384, cacheMb })
  const reader = new ReceiptStore(path, { syncOnCommit: false })
  const inputBodies = Array.from({ length: 100 }, () => text(3500))
  const inputHashes = Array.from({ length: 100 }, () => hex(32))
  let nonce = 0
  const row = (): NewInferenceRow => {
    const k = nonce % 100
    return {
      id: hex(32),
      requestHash: hex(32),
      client,
      nonce: String(nonce++),
      modelId: inputHashes[0]!,
      inputHash: distinct ? hex(32) : inputHashes[k]!,
      outputHash: hex(32),
      fee: '1000000000000000',
      mode: 1,
      issuedAt: 1_796_000_000,
      executedAtMs: Date.now(),
      receiptJson: text(560),
      signature: hex(65),
      requestJson: text(420),
      clientSignature: hex(65),
      outputsJson: text(330),
      computeMs: 0.2,
      channelTotal: '40000000000000000000000',
    }
  }
  if (stored > 0) {
    const started = performance.now()
    // Random keys into big indexes: a large cache while filling keeps it to a minute or two.
    writer.db.pragma('cache_size = -1000000')
    for (let done = 0; done < stored; done += 1000)
      writer.insertInferences(Array.from({ length: Math.min(1000, stored - done) }, () => ({ inference: row(), inputBody: text(3500) })))
    writer.db.pragma('wal_checkpoint(TRUNCATE)')
    writer.db.pragma(`cache_size = -${cacheMb * 1024}`)
    writer.db.pragma('wal_autocheckpoint = 0')
    console.error(
      `stored ${stored} in ${((performance.now() - started) / 1000).toFixed(0)} s, ${(statSync(path).size / 1e9).toFixed(2)} GB`,
    )
  }
  const log = openSync(join(dir, 'receipts.log'), 'a')
  let walAtStart = 0
  let insertMs = 0
  let appendMs = 0
  let warmMs = 0
  let coldMs = 0
  let measured = 0
  for (let done = 0; done < receipts; done += group) {
    const items = Array.from({ length: group }, () => {
      const inference = row()
      return { inference, inputBody: distinct ? text(3500) : inputBodies[Number(inference.nonce) % 100]! }
    })
    const t0 = performance.now()
    writer.insertInferences(items)
    const t1 = performance.now()
    // The same group as records of a log: each receipt's fields and input, tab-separated on a line of its
    // own (none holds a tab or a newline), then one write to the file's end.
    writeSync(log, Buffer.from(items.map((i) => `${Object.values(i.inference).join('\t')}\t${i.inputBody}\n`).join('')))
    const t1b = performance.now()
    // A request not seen yet: both reads walk the same indexes a new request's price check walks.
    reader.admission(client, String(nonce + 1))
    const t2 = performance.now()
    writer.admission(client, String(nonce + 1))
    const t3 = performance.now()
    if (done + group >= receipts / 4 && walAtStart === 0) walAtStart = statSync(`${path}-wal`).size
    if (done >= receipts / 4) {
      // The first quarter warms up (the store grows from empty).
      insertMs += t1 - t0
      appendMs += t1b - t1
      coldMs += t2 - t1b
      warmMs += t3 - t2
      measured++
    }
    if (done % 8192 === 0 && stored === 0) reader.db.pragma('wal_checkpoint(PASSIVE)')
  }
  const walKb = stored > 0 ? ((statSync(`${path}-wal`).size - walAtStart) / 1024 / (measured * group)).toFixed(1) : '–'
  console.log(
    `| ${distinct ? 'all distinct' : '100 repeated'} | ${((insertMs * 1000) / (measured * group)).toFixed(1)} | ${((appendMs * 1000) / (measured * group)).toFixed(1)} | ${((warmMs * 1000) / measured).toFixed(1)} | ${((coldMs * 1000) / measured).toFixed(1)} | ${walKb} |`,
  )
  closeSync(log)
  writer.close()
  reader.close()
  rmSync(dir, { recursive: true, force: true })
}
