import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import type { Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { receiptRow, TEXT_LAYOUT } from '../test/receiptRows.js'
import { hashKey, ReceiptStore } from './receiptStore.js'

const CLIENT = '0x00000000000000000000000000000000000000aa' as Hex
const fresh = () => join(mkdtempSync(join(tmpdir(), 'verity-store-')), 'node.sqlite')
/** Two 32-byte hashes with the same first 52 bits (the same `hashKey`), then random-looking tails. */
const PREFIX = '0x9f3c2a1b7e6d5'
const sharing = (tail: string) => `${PREFIX}${tail.repeat(51).slice(0, 51)}` as Hex

const indexesOf = (db: Database.Database, table: string) =>
  (db.prepare(`PRAGMA index_list(${table})`).all() as { name: string; unique: number }[]).map((i) => ({
    unique: i.unique === 1,
    columns: (db.prepare(`PRAGMA index_info(${i.name})`).all() as { name: string }[]).map((c) => c.name),
  }))

describe('ReceiptStore: receipts and inputs looked up by an integer key of their hash', () => {
  it('a new store indexes ids and input hashes by their first 52 bits, no 66-character text in any index', () => {
    const store = new ReceiptStore(fresh())
    expect(hashKey('0x9f3c2a1b7e6d5ffff')).toBe(0x9f3c2a1b7e6d5)
    expect(hashKey('0x9F3C2A1B7E6D5FFFF')).toBe(0x9f3c2a1b7e6d5)
    const ofInferences = indexesOf(store.db, 'inferences')
    expect(ofInferences).toContainEqual({ unique: false, columns: ['id_key'] })
    expect(ofInferences.some((i) => i.columns.includes('id'))).toBe(false)
    expect(indexesOf(store.db, 'inputs')).toEqual([{ unique: false, columns: ['hash_key'] }])
    const plan = (sql: string) =>
      (store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all('0x') as { detail: string }[]).map((r) => r.detail).join('; ')
    expect(plan('SELECT * FROM inferences WHERE id_key = 1 AND id = ?')).toContain('USING INDEX inferences_id')
    expect(plan('SELECT body FROM inputs WHERE hash_key = 1 AND hash = ?')).toContain('USING INDEX inputs_hash')
    store.close()
  })

  it('two ids or two input hashes sharing a key are each stored and found by their whole hash; an input stored twice is kept once', () => {
    const store = new ReceiptStore(fresh())
    const [a, b] = [sharing('a'), sharing('b')]
    expect(hashKey(a)).toBe(hashKey(b))
    const refusals = store.insertInferences([
      { inference: { ...receiptRow(1, CLIENT, 10n, 1n), id: a, inputHash: a }, inputBody: '[1]' },
      { inference: { ...receiptRow(2, CLIENT, 10n, 1n), id: b, inputHash: b }, inputBody: '[2]' },
      { inference: { ...receiptRow(3, CLIENT, 10n, 1n), inputHash: b }, inputBody: '[2]' },
    ])
    expect(refusals).toEqual([undefined, undefined, undefined])
    expect(store.getInference(a)?.nonce).toBe('1')
    expect(store.getInference(b.toUpperCase().replace('0X', '0x') as Hex)?.nonce).toBe('2')
    expect(store.getInference(sharing('c'))).toBeUndefined()
    expect([store.getInput(a), store.getInput(b), store.getInput(sharing('c'))]).toEqual(['[1]', '[2]', undefined])
    expect((store.db.prepare('SELECT COUNT(*) AS n FROM inputs').get() as { n: number }).n).toBe(2)
    store.close()
  })

  it('a store written before the keys keeps its unique text indexes and works as before', () => {
    const path = fresh()
    const old = new Database(path)
    old.exec(TEXT_LAYOUT)
    old.close()
    const store = new ReceiptStore(path)
    expect(indexesOf(store.db, 'inputs')).toEqual([{ unique: true, columns: ['hash'] }])
    const [a, b] = [sharing('a'), sharing('b')]
    const refusals = store.insertInferences([
      { inference: { ...receiptRow(1, CLIENT, 10n, 1n), id: a, inputHash: a }, inputBody: '[1]' },
      { inference: { ...receiptRow(2, CLIENT, 10n, 1n), id: b, inputHash: a }, inputBody: '[1]' },
      { inference: { ...receiptRow(2, CLIENT, 10n, 1n), id: sharing('c') }, inputBody: '[9]' },
    ])
    expect(refusals.map((r) => (r as { code?: string } | undefined)?.code)).toEqual([undefined, undefined, 'REQUEST_REPLAYED'])
    expect([store.getInference(a)?.nonce, store.getInference(b)?.nonce, store.getInference(sharing('c'))]).toEqual(['1', '2', undefined])
    expect([store.getInput(a), (store.db.prepare('SELECT COUNT(*) AS n FROM inputs').get() as { n: number }).n]).toEqual(['[1]', 1])
    store.close()
  })
})
