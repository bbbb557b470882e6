import type { AuditReturnType } from '@verity/sdk'
import { Hono } from 'hono'
import type { Hex } from 'viem'
import type { IndexStore } from './indexStore.js'
import { servePage } from './servePage.js'

type Percentiles = { count: number; p50: number | null; p90: number | null; p99: number | null }

const LEVEL_SQL = `CASE
  WHEN overturned_at_ms IS NOT NULL THEN 'OVERTURNED'
  WHEN final_at_ms IS NOT NULL THEN 'FINAL'
  WHEN disputed_at_ms IS NOT NULL THEN 'DISPUTED'
  WHEN attested_at_ms IS NOT NULL THEN 'ATTESTED'
  ELSE 'COMMITTED' END`

/**
 * Seconds-valued percentiles (nearest rank) of a gap over the receipts that have it, read from the
 * gap's expression index: a count and three offset lookups, whatever the number of receipts.
 */
function percentiles(store: IndexStore, level: 'attested' | 'final'): Percentiles {
  const expr = `${level}_at_ms - executed_at_ms`
  const where = `${level}_at_ms IS NOT NULL`
  const count = store.get<{ n: number }>(`SELECT COUNT(*) AS n FROM inferences WHERE ${where}`)!.n
  const at = (p: number) =>
    count === 0
      ? null
      : store.get<{ v: number }>(
          `SELECT ${expr} AS v FROM inferences WHERE ${where} ORDER BY ${expr} LIMIT 1 OFFSET ?`,
          Math.ceil(p * count) - 1,
        )!.v / 1000
  return { count, p50: at(0.5), p90: at(0.9), p99: at(0.99) }
}

/** Percentiles of already sorted seconds. */
function percentilesOf(sorted: number[]): Percentiles {
  const at = (p: number) => (sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!)
  return { count: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99) }
}

const sum = (values: string[]) => values.reduce((a, b) => a + BigInt(b), 0n).toString()

/**
 * The dashboard: its page at `/`, and its HTTP API over the index: `/api/summary`, `/api/inferences`, `/api/inferences/:id`,
 * `/api/trust-gap`, `/api/operators`, `/api/disputes`. Every figure is read from the index, which
 * reads it from the chain (and the receipts from the nodes that committed them).
 */
export type DashboardOptions = {
  /** Re-executes an inference from public data (the SDK's `audit`), for the page's audit button. */
  audit?(inferenceId: Hex, node: string): Promise<AuditReturnType>
}

export function dashboardApi(store: IndexStore, options: DashboardOptions = {}): Hono {
  const app = new Hono()

  app.get('/api/summary', (c) => {
    const levels = Object.fromEntries(
      store
        .all<{ level: string; n: number }>(`SELECT ${LEVEL_SQL} AS level, COUNT(*) AS n FROM inferences GROUP BY level`)
        .map((r) => [r.level, r.n]),
    )
    const total = store.get<{ n: number }>('SELECT COUNT(*) AS n FROM inferences')!.n
    const byMode = store.all<{ mode: number; total: number; attested: number }>(
      'SELECT mode, COUNT(*) AS total, SUM(attested_at_ms IS NOT NULL) AS attested FROM inferences GROUP BY mode ORDER BY mode',
    )
    const gas =
      store.get<{ g: number }>('SELECT COALESCE(SUM(gas), 0) AS g FROM batches')!.g +
      store.get<{ g: number }>('SELECT COALESCE(SUM(gas), 0) AS g FROM attestations')!.g +
      store.get<{ g: number }>('SELECT COALESCE(SUM(gas), 0) AS g FROM games')!.g
    const checks = store.get<{ n: number }>('SELECT COALESCE(SUM(receipts), 0) AS n FROM attestations')!.n
    const games = store.get<{ played: number; nodeLost: number; challengerLost: number; open: number }>(
      `SELECT COUNT(*) AS played, COALESCE(SUM(node_lost = 1), 0) AS nodeLost, COALESCE(SUM(node_lost = 0), 0) AS challengerLost,
              COALESCE(SUM(resolved_at_ms IS NULL), 0) AS open FROM games`,
    )!
    return c.json({
      inferences: total,
      levels,
      coverage: {
        attested: total === 0 ? 0 : byMode.reduce((a, m) => a + m.attested, 0) / total,
        byMode: byMode.map((m) => ({ mode: m.mode, total: m.total, attested: m.attested, share: m.attested / m.total })),
        // Each re-execution by a verifier costs one inference of compute.
        verificationPerInference: total === 0 ? 0 : checks / total,
      },
      trustGap: {
        attested: percentiles(store, 'attested'),
        final: percentiles(store, 'final'),
      },
      // Fees collected at commit, less the refunds of overturned receipts.
      fees: (
        BigInt(sum(store.all<{ fee: string }>('SELECT fee FROM batches').map((r) => r.fee))) -
        BigInt(sum(store.all<{ refund: string }>("SELECT refund FROM challenges WHERE status = 'upheld'").map((r) => r.refund)))
      ).toString(),
      gas,
      gasPerInference: total === 0 ? 0 : gas / total,
      batches: store.get<{ n: number }>('SELECT COUNT(*) AS n FROM batches')!.n,
      games,
      slashed: sum(store.all<{ slashed: string }>('SELECT slashed FROM operators').map((r) => r.slashed)),
    })
  })

  app.get('/api/inferences', (c) => {
    const limit = Math.min(500, Math.max(1, Number(c.req.query('limit') ?? 50) || 50))
    const before = Number(c.req.query('before') ?? Number.MAX_SAFE_INTEGER)
    return c.json(
      store.all(
        `SELECT id, batch_id AS batchId, idx, node, client, fee, mode, ${LEVEL_SQL} AS level, executed_at_ms AS executedAt,
                committed_at_ms AS committedAt, attested_at_ms AS attestedAt, attestations, disputed_at_ms AS disputedAt,
                overturned_at_ms AS overturnedAt, final_at_ms AS finalAt
         FROM inferences WHERE executed_at_ms < ? ORDER BY executed_at_ms DESC, batch_id DESC, idx DESC LIMIT ?`,
        before,
        limit,
      ),
    )
  })

  app.get('/api/inferences/:id', (c) => {
    const id = c.req.param('id').toLowerCase()
    const row = store.get<Record<string, unknown>>(`SELECT *, ${LEVEL_SQL} AS level FROM inferences WHERE id = ?`, id)
    if (!row) return c.json({ error: { code: 'INFERENCE_NOT_FOUND', message: `no indexed inference ${id}` } }, 404)
    const batchId = row.batch_id as number
    return c.json({
      id,
      level: row.level,
      receipt: JSON.parse(row.receipt_json as string),
      batch: store.get(
        'SELECT batch_id AS batchId, root, count, node, data_uri AS dataUri, committed_at_ms AS committedAt, finalized_at_ms AS finalizedAt FROM batches WHERE batch_id = ?',
        batchId,
      ),
      index: row.idx,
      timeline: {
        executed: row.executed_at_ms,
        committed: row.committed_at_ms,
        attested: row.attested_at_ms,
        disputed: row.disputed_at_ms,
        overturned: row.overturned_at_ms,
        final: row.final_at_ms,
      },
      attestations: store.all('SELECT verifier, receipts, at_ms AS at FROM attestations WHERE batch_id = ? ORDER BY at_ms', batchId),
      challenges: store.all(
        'SELECT challenge_id AS challengeId, challenger, status, opened_at_ms AS openedAt, resolved_at_ms AS resolvedAt FROM challenges WHERE batch_id = ? AND idx = ?',
        batchId,
        row.idx,
      ),
    })
  })

  app.post('/api/inferences/:id/audit', async (c) => {
    const id = c.req.param('id').toLowerCase()
    const row = store.get<{ data_uri: string }>(
      'SELECT b.data_uri FROM inferences i JOIN batches b ON b.batch_id = i.batch_id WHERE i.id = ?',
      id,
    )
    if (!row) return c.json({ error: { code: 'INFERENCE_NOT_FOUND', message: `no indexed inference ${id}` } }, 404)
    if (!options.audit)
      return c.json({ error: { code: 'AUDIT_UNAVAILABLE', message: 'this dashboard was started without an audit client' } }, 501)
    try {
      // The node that committed the batch serves the receipt and its input.
      return c.json(await options.audit(id as Hex, new URL(row.data_uri).origin))
    } catch (error) {
      return c.json({ error: { code: 'AUDIT_FAILED', message: error instanceof Error ? error.message : String(error) } }, 502)
    }
  })

  app.get('/api/trust-gap', (c) => {
    const buckets = Math.min(200, Math.max(1, Number(c.req.query('buckets') ?? 30) || 30))
    const span = store.get<{ lo: number | null; hi: number | null }>(
      'SELECT MIN(executed_at_ms) AS lo, MAX(executed_at_ms) AS hi FROM inferences',
    )!
    const series: { from: number; attested: Percentiles; final: Percentiles }[] = []
    if (span.lo !== null && span.hi !== null) {
      const width = Math.max(1000, Math.ceil((span.hi - span.lo + 1) / buckets))
      const gaps = Array.from({ length: Math.ceil((span.hi - span.lo + 1) / width) }, () => ({
        attested: [] as number[],
        final: [] as number[],
      }))
      // One pass over the receipts (raw rows), bucketed by execution time.
      for (const [executed, attested, final] of store.db
        .prepare('SELECT executed_at_ms, attested_at_ms, final_at_ms FROM inferences')
        .raw()
        .all() as [number, number | null, number | null][]) {
        const bucket = gaps[Math.floor((executed - span.lo) / width)]!
        if (attested !== null) bucket.attested.push((attested - executed) / 1000)
        if (final !== null) bucket.final.push((final - executed) / 1000)
      }
      for (const [i, g] of gaps.entries()) {
        series.push({
          from: span.lo + i * width,
          attested: percentilesOf(g.attested.sort((a, b) => a - b)),
          final: percentilesOf(g.final.sort((a, b) => a - b)),
        })
      }
    }
    const histogram = store.all<{ bin: number; n: number }>(
      'SELECT (final_at_ms - executed_at_ms) / 1000 AS bin, COUNT(*) AS n FROM inferences WHERE final_at_ms IS NOT NULL GROUP BY bin ORDER BY bin',
    )
    return c.json({ series, histogram })
  })

  app.get('/api/operators', (c) =>
    c.json(
      store.all(
        `SELECT o.address, o.role, o.endpoint, o.staked, o.slashed,
                (SELECT COUNT(*) FROM inferences i WHERE i.node = o.address) AS served,
                (SELECT COUNT(*) FROM attestations a WHERE a.verifier = o.address) AS attestations,
                (SELECT COALESCE(SUM(receipts), 0) FROM attestations a WHERE a.verifier = o.address) AS checked
         FROM operators o ORDER BY o.role, o.registered_at_ms`,
      ),
    ),
  )

  app.get('/api/disputes', (c) =>
    c.json(
      store.all(
        `SELECT g.game_id AS gameId, g.node, g.challenger, g.moves, g.gas, g.opened_at_ms AS openedAt, g.resolved_at_ms AS resolvedAt,
                g.node_lost AS nodeLost, g.reason, ch.batch_id AS batchId, ch.idx, ch.status, ch.refund, ch.slashed, ch.bounty
         FROM games g LEFT JOIN challenges ch ON ch.challenge_id = g.game_id ORDER BY g.game_id DESC LIMIT 200`,
      ),
    ),
  )

  return servePage(app)
}
