import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { identifyModel } from '@verity/contracts'
import { describeValue } from '@verity/protocol'
import { loadModel } from '@verity/runtime'
import { Hono } from 'hono'
import { ApiError, errorBody, httpStatusOf } from './errors.js'
import { Metrics } from './metrics.js'

const ID = /^0x[0-9a-f]{64}$/
const MAX_ARTIFACT_BYTES = 256 * 1024 * 1024

/**
 * The model hub: a content-addressed artifact store on disk, served over HTTP. An artifact is stored
 * under its model id (the hash of its roots, derived from its bytes: docs/protocol.md); an upload is
 * accepted only if it loads as a valid model.
 *
 * Routes: `PUT /v1/models` (body: artifact bytes) → `{ modelId, bytes, name, artifactHash,
 * weightsRoot, graphRoot, specHash }`; `GET /v1/models/:id` →
 * the bytes; `GET /v1/models` → ids; `GET /healthz`.
 */
export function createHub(parameters: { dir: string }) {
  mkdirSync(parameters.dir, { recursive: true })
  const pathOf = (id: string) => join(parameters.dir, `${id}.vrty`)
  const app = new Hono()
  app.onError((error, c) => c.json(errorBody(error), httpStatusOf(error) as 400))
  const metrics = new Metrics('verity_hub')
  metrics.define('models', 'gauge', 'Artifacts stored')
  metrics.define('downloads_total', 'counter', 'Artifacts served, by model id')
  metrics.define('bytes_served_total', 'counter', 'Artifact bytes served')
  metrics.define('uploads_total', 'counter', 'Artifacts accepted (a new one or one already stored)')
  app.get('/healthz', (c) => c.json({ ok: true, role: 'hub', models: list().length }))
  app.get('/metrics', (c) => {
    metrics.set('models', list().length)
    return c.text(metrics.render(), 200, { 'content-type': 'text/plain; version=0.0.4' })
  })
  const list = () =>
    readdirSync(parameters.dir)
      .filter((f) => f.endsWith('.vrty'))
      .map((f) => f.slice(0, -5))
  app.get('/v1/models', (c) => c.json({ models: list() }))
  app.get('/v1/models/:id', (c) => {
    const id = c.req.param('id').toLowerCase()
    if (!ID.test(id)) throw new ApiError(400, 'INVALID_MODEL_ID', `a model id is 0x followed by 64 hex digits, found ${describeValue(id)}`)
    if (!existsSync(pathOf(id))) throw new ApiError(404, 'MODEL_NOT_FOUND', `no artifact ${id} on this hub`, { modelId: id })
    const bytes = readFileSync(pathOf(id))
    metrics.inc('downloads_total', { model: id.slice(0, 10) })
    metrics.inc('bytes_served_total', {}, bytes.length)
    return c.body(bytes, 200, { 'content-type': 'application/octet-stream' })
  })
  app.put('/v1/models', async (c) => {
    const bytes = new Uint8Array(await c.req.arrayBuffer())
    if (bytes.length === 0 || bytes.length > MAX_ARTIFACT_BYTES) {
      throw new ApiError(413, 'ARTIFACT_SIZE', `an artifact is 1 to ${MAX_ARTIFACT_BYTES} bytes, found ${bytes.length}`)
    }
    const model = loadModel(bytes)
    const identity = identifyModel(model)
    const { modelId } = identity
    if (!existsSync(pathOf(modelId))) {
      writeFileSync(`${pathOf(modelId)}.tmp`, bytes)
      renameSync(`${pathOf(modelId)}.tmp`, pathOf(modelId))
    }
    metrics.inc('uploads_total')
    return c.json({ ...identity, bytes: bytes.length, name: model.model.name ?? null })
  })
  return { app, dir: parameters.dir }
}
