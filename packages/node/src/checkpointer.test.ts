import { mkdtempSync, readFileSync, statSync } from 'node:fs'
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

  /**
   * A writer committing a 1-KB row about every millisecond (none while held) for `ms`; its commits,
   * the WAL file's size at the end and the WAL's restarts.
   */
  async function steadyWriter(ms: number, hold?: () => () => void) {
    const { path, db, insert } = walDatabase(0)
    let holding = false
    let holds = 0
    // A pass every 100 ms copies what about 100 commits wrote, and the writer commits while it runs: the
    // pass never leaves the WAL wholly copied, as under a node's stream of receipts.
    const checkpointer = createCheckpointer(path, {
      intervalMs: 100,
      restartFrames: 200,
      tailFrames: 50,
      hold:
        hold &&
        (() => {
          holds++
          holding = true
          const end = hold()
          return () => {
            holding = false
            end()
          }
        }),
    })
    try {
      let commits = 0
      const end = performance.now() + ms
      await new Promise<void>((resolve) => {
        const tick = () => {
          if (!holding) {
            insert.run(Buffer.alloc(1024, commits % 256))
            commits++
          }
          if (performance.now() < end) setTimeout(tick, 0)
          else resolve()
        }
        tick()
      })
      // A hold may be under way as the loop ends: it must end within its moment (one never released is
      // still on after 2 s, and `holding` says so).
      for (const waitUntil = performance.now() + 2000; holding && performance.now() < waitUntil; )
        await new Promise((resolve) => setTimeout(resolve, 5))
      const stats = await checkpointer.stats()
      // The WAL header's checkpoint sequence number (bytes 12-15) counts the WAL's restarts.
      const restarts = readFileSync(`${path}-wal`).readUInt32BE(12)
      return { commits, walBytes: statSync(`${path}-wal`).size, restarts, holds, stats, holding }
    } finally {
      await checkpointer.close()
      db.close()
    }
  }

  it('has the WAL start again under a steady stream of commits by holding the writer a moment; without it, only by chance', async () => {
    const held = await steadyWriter(1200, () => () => {})
    const free = await steadyWriter(1200)
    expect(held.holds).toBeGreaterThan(0)
    expect(held.stats.restarted).toBeGreaterThan(0)
    expect(held.holding).toBe(false)
    expect(held.restarts).toBeGreaterThan(0)
    expect(Math.min(held.commits, free.commits)).toBeGreaterThan(300)
    // Without the hold a pass leaves the WAL wholly copied only by chance (the writer idle as it ends).
    expect(free.holds).toBe(0)
    expect(held.restarts).toBeGreaterThan(free.restarts + 1)
  })

  it('a thread that dies while it holds the writer releases it, and is replaced', async () => {
    const { path, db, insert } = walDatabase(400)
    let holding = false
    const checkpointer = createCheckpointer(path, {
      intervalMs: 10,
      restartDelayMs: 0,
      restartFrames: 100,
      hold: () => {
        holding = true
        // What a crash looks like: the thread ends while the writer waits for it.
        void checkpointer.thread().terminate()
        return () => {
          holding = false
        }
      },
    })
    try {
      await vi.waitFor(() => expect(checkpointer.restarts()).toBeGreaterThanOrEqual(1))
      expect(holding).toBe(false)
      insert.run(Buffer.alloc(1024, 1))
    } finally {
      await checkpointer.close()
      db.close()
    }
  })
})
