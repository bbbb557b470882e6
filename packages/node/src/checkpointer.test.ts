import { mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it, vi } from 'vitest'
import { type CheckpointStats, createCheckpointer } from './checkpointer.js'

/** A WAL database whose own connection never checkpoints, holding `rows` rows of 1 KB. */
function walDatabase(rows: number) {
  const path = join(mkdtempSync(join(tmpdir(), 'verity-checkpoint-')), 'db.sqlite')
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.pragma('wal_autocheckpoint = 0')
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)')
  const insert = db.prepare('INSERT INTO t (body) VALUES (?)')
  db.transaction(() => {
    for (let i = 0; i < rows; i++) insert.run(Buffer.alloc(1024, i % 256))
  })()
  return { path, db, insert }
}

describe('createCheckpointer', () => {
  it('copies what the writing connection committed from the WAL into the database file, from its own thread', async () => {
    const { path, db, insert } = walDatabase(2000)
    const before = statSync(path).size
    const checkpointer = createCheckpointer(path, { intervalMs: 20 })
    try {
      let stats: CheckpointStats | undefined
      await vi.waitFor(async () => {
        stats = await checkpointer.stats()
        expect(stats.log).toBeGreaterThan(500)
        expect(stats.checkpointed).toBe(stats.log)
      })
      expect(statSync(path).size).toBeGreaterThan(before + 2000 * 1024)
      // The writer goes on committing meanwhile, and another connection reads every row.
      db.transaction(() => {
        for (let i = 0; i < 100; i++) insert.run(Buffer.alloc(1024, 7))
      })()
      await vi.waitFor(async () => {
        const s = await checkpointer.stats()
        expect(s.runs).toBeGreaterThan(0)
        expect(s.checkpointed).toBe(s.log)
      })
      const reader = new Database(path, { readonly: true })
      expect(reader.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 2100 })
      reader.close()
    } finally {
      await checkpointer.close()
      db.close()
    }
  })

  it('a checkpointer thread that dies is replaced, and the next one checkpoints', async () => {
    const { path, db, insert } = walDatabase(10)
    const checkpointer = createCheckpointer(path, { intervalMs: 20, restartDelayMs: 0 })
    try {
      // What a crash looks like: the thread ends.
      await checkpointer.thread().terminate()
      await vi.waitFor(() => expect(checkpointer.restarts()).toBeGreaterThanOrEqual(1))
      db.transaction(() => {
        for (let i = 0; i < 500; i++) insert.run(Buffer.alloc(1024, 1))
      })()
      await vi.waitFor(async () => {
        const s = await checkpointer.stats()
        expect(s.log).toBeGreaterThan(100)
        expect(s.checkpointed).toBe(s.log)
      })
    } finally {
      await checkpointer.close()
      db.close()
    }
  })
})
