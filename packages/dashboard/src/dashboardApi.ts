import { Role } from '@verity/contracts'
import { ApiError, errorBody, httpStatusOf } from '@verity/node'
import { describeValue, fetchJson } from '@verity/protocol'
import type { AuditReturnType } from '@verity/sdk'
import { Hono } from 'hono'
import type { Hex } from 'viem'
import { renderMetrics } from './dashboardMetrics.js'
import { LEVEL_SQL, summaryOf, trustGapOf, verificationOf } from './figures.js'
import type { IndexStore } from './indexStore.js'
import { inferenceDetail } from './inferenceDetail.js'
import { servePage } from './servePage.js'

export type DashboardOptions = {
  /** Re-executes an inference from public data (the SDK's `audit`), for the page's audit button. */
  audit?(inferenceId: Hex, node: string): Promise<AuditReturnType>
  /** A model's artifact bytes from its registered URI, for the page's own re-execution (it checks their hash). */
  artifact?(modelId: Hex): Promise<Uint8Array>
}

/**
 * The dashboard: its page at `/`, and its HTTP API over the index: `/api/summary`, `/api/inferences`, `/api/inferences/:id`,
 * `POST /api/inferences/:id/audit`, `/api/trust-gap`, `/api/verification`, `/api/operators`, `/api/disputes`, and the same
 * figures for Prometheus at `/metrics`.
 * Every figure is read from the index, which reads it from the chain and the operators' APIs.
 */
export function dashboardApi(store: IndexStore, options: DashboardOptions = {}): Hono {
  const app = new Hono()
  // Typed errors as every Verity API answers them: { error: { code, message, details } } with the error's status.
  app.onError((error, c) => c.json(errorBody(error), httpStatusOf(error) as 400))
  /**
   * Figures computed over the whole index are shared by every viewer: recomputed only when the index
   * changed and the last computation is older than `maxAgeMs`, so N pages polling cost one computation.
   */
  const cache = new Map<string, { version: number; at: number; value: unknown }>()
  function shared<T>(key: string, maxAgeMs: number, compute: () => T): T {
    const hit = cache.get(key)
    if (hit && (hit.version === store.version || Date.now() - hit.at < maxAgeMs)) return hit.value as T
    const value = compute()
    cache.set(key, { version: store.version, at: Date.now(), value })
    return value
  }

  app.get('/api/summary', (c) => c.json(shared('summary', 1000, () => summaryOf(store))))

  app.get('/api/inferences', (c) => {
    const limit = Math.min(500, Math.max(1, Number(c.req.query('limit') ?? 50) || 50))
    const before = Number(c.req.query('before') ?? Number.MAX_SAFE_INTEGER)
    return c.json(
      store.all(
        `SELECT id, batch_id AS batchId, idx, node, client, fee, mode, ${LEVEL_SQL} AS level, executed_at_ms AS executedAt,
                compute_ms AS computeMs, committed_at_ms AS committedAt, attested_at_ms AS attestedAt, attestations,
                disputed_at_ms AS disputedAt, overturned_at_ms AS overturnedAt, final_at_ms AS finalAt
         FROM inferences WHERE executed_at_ms < ? ORDER BY executed_at_ms DESC, batch_id DESC, idx DESC LIMIT ?`,
        before,
        limit,
      ),
    )
  })

  /** The indexed inference and the API of the node that signed it (which serves its receipt and input), or a 404. */
  const signed = (id: string) => {
    const row = store.get<{ endpoint: string; receipt_json: string }>(
      'SELECT o.endpoint, i.receipt_json FROM inferences i JOIN operators o ON o.address = i.node AND o.role = ? WHERE i.id = ?',
      Role.inference,
      id,
    )
    if (!row) throw new ApiError(404, 'INFERENCE_NOT_FOUND', `no indexed inference ${id}`)
    return row
  }
  /** Runs `work`; a failure of the operator or the chain behind it is a 502 with `code`. */
  const upstream = async <T>(code: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work()
    } catch (error) {
      throw new ApiError(502, code, error instanceof Error ? error.message : String(error))
    }
  }

  app.get('/api/inferences/:id', (c) => {
    const id = c.req.param('id').toLowerCase()
    const detail = inferenceDetail(store, id)
    if (!detail) throw new ApiError(404, 'INFERENCE_NOT_FOUND', `no indexed inference ${id}`)
    return c.json(detail)
  })

  app.post('/api/inferences/:id/audit', async (c) => {
    const id = c.req.param('id').toLowerCase()
    const { endpoint } = signed(id)
    const audit = options.audit
    if (!audit) throw new ApiError(501, 'AUDIT_UNAVAILABLE', 'this dashboard was started without an audit client')
    return c.json(await upstream('AUDIT_FAILED', () => audit(id as Hex, endpoint)))
  })

  // What the page needs to re-execute an inference itself; it checks each against the hash the receipt commits to.
  app.get('/api/inferences/:id/input', async (c) => {
    const { endpoint, receipt_json } = signed(c.req.param('id').toLowerCase())
    const inputHash = String((JSON.parse(receipt_json) as { inputHash: unknown }).inputHash)
    const body = await upstream('DATA_UNAVAILABLE', async () => {
      return (await fetchJson(`${endpoint}/v1/data/${inputHash}`, { timeoutMs: 10_000 })) as object
    })
    return c.json(body)
  })
  app.get('/api/models/:id/artifact', async (c) => {
    const id = c.req.param('id').toLowerCase()
    if (!/^0x[0-9a-f]{64}$/.test(id))
      throw new ApiError(400, 'INVALID_MODEL_ID', `a model id is 0x followed by 64 hex digits, found ${describeValue(id)}`)
    const artifact = options.artifact
    if (!artifact) throw new ApiError(501, 'ARTIFACT_UNAVAILABLE', 'this dashboard was started without a chain to read artifacts from')
    const bytes = await upstream('ARTIFACT_UNAVAILABLE', () => artifact(id as Hex))
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      'content-type': 'application/octet-stream',
      'cache-control': 'max-age=31536000, immutable',
    })
  })

  const buckets = (value: string | undefined) => Math.min(200, Math.max(1, Number(value ?? 30) || 30))
  app.get('/api/trust-gap', (c) => {
    const n = buckets(c.req.query('buckets'))
    return c.json(shared(`trust-gap:${n}`, 5000, () => trustGapOf(store, n)))
  })
  app.get('/api/verification', (c) => {
    const n = buckets(c.req.query('buckets'))
    return c.json(shared(`verification:${n}`, 5000, () => verificationOf(store, n)))
  })
  app.get('/metrics', (c) =>
    c.text(
      shared('metrics', 1000, () => renderMetrics(store)),
      200,
      { 'content-type': 'text/plain; version=0.0.4' },
    ),
  )

  app.get('/api/operators', (c) =>
    c.json(
      store.all(
        `SELECT o.address, o.role, o.endpoint, o.staked, o.slashed, o.api_error AS apiError,
                COALESCE(n.served, 0) AS served, COALESCE(v.checked, 0) AS checked,
                (SELECT COUNT(*) FROM attestations a WHERE a.verifier = o.address) AS attestations,
                (SELECT COALESCE(SUM(receipts), 0) FROM attestations a WHERE a.verifier = o.address) AS attested,
                CASE o.role WHEN 1 THEN COALESCE(n.compute_ms, 0) ELSE COALESCE(v.compute_ms, 0) END AS computeMs
         FROM operators o LEFT JOIN agg_nodes n ON n.node = o.address AND o.role = 1 LEFT JOIN agg_verifiers v ON v.verifier = o.address
         ORDER BY o.role, o.registered_at_ms`,
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
