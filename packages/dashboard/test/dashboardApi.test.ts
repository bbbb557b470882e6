import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Role } from '@verity/contracts'
import { describe, expect, it } from 'vitest'
import { dashboardApi } from '../src/dashboardApi.js'
import { IndexStore } from '../src/indexStore.js'

const id = `0x${'ab'.repeat(32)}`
const modelId = `0x${'cd'.repeat(32)}`

/** The dashboard API's refusals: each a typed `{ error: { code, message } }` with the status that says whose fault it is. */
describe('dashboard API errors', () => {
  const store = new IndexStore(join(mkdtempSync(join(tmpdir(), 'verity-api-')), 'index.sqlite'))
  const bare = dashboardApi(store)
  const failing = dashboardApi(store, {
    audit: async () => {
      throw new Error('node gone')
    },
    artifact: async () => {
      throw new Error('hub gone')
    },
  })
  const answer = async (app: ReturnType<typeof dashboardApi>, path: string, method = 'GET') => {
    const response = await app.request(path, { method })
    return { status: response.status, code: ((await response.json()) as { error: { code: string } }).error.code }
  }

  it('an unknown inference is a 404 on every route about it', async () => {
    expect(await answer(bare, `/api/inferences/${id}`)).toEqual({ status: 404, code: 'INFERENCE_NOT_FOUND' })
    expect(await answer(bare, `/api/inferences/${id}/input`)).toEqual({ status: 404, code: 'INFERENCE_NOT_FOUND' })
    expect(await answer(failing, `/api/inferences/${id}/audit`, 'POST')).toEqual({ status: 404, code: 'INFERENCE_NOT_FOUND' })
  })

  it('a malformed model id is a 400, a missing capability a 501, a failing operator a 502', async () => {
    expect(await answer(failing, '/api/models/0x12/artifact')).toEqual({ status: 400, code: 'INVALID_MODEL_ID' })
    expect(await answer(bare, `/api/models/${modelId}/artifact`)).toEqual({ status: 501, code: 'ARTIFACT_UNAVAILABLE' })
    expect(await answer(failing, `/api/models/${modelId}/artifact`)).toEqual({ status: 502, code: 'ARTIFACT_UNAVAILABLE' })

    // An indexed inference whose node does not answer.
    store.run(
      'INSERT INTO operators (address, role, endpoint, registered_at_ms) VALUES (?, ?, ?, 0)',
      '0x01',
      Role.inference,
      'http://127.0.0.1:1',
    )
    store.run(
      `INSERT INTO inferences (id, node, client, model_id, fee, mode, receipt_json, executed_at_ms) VALUES (?, '0x01', 'c', ?, '1', 1, ?, 0)`,
      id,
      modelId,
      JSON.stringify({ inputHash: `0x${'ef'.repeat(32)}` }),
    )
    expect(await answer(bare, `/api/inferences/${id}/audit`, 'POST')).toEqual({ status: 501, code: 'AUDIT_UNAVAILABLE' })
    expect(await answer(failing, `/api/inferences/${id}/audit`, 'POST')).toEqual({ status: 502, code: 'AUDIT_FAILED' })
    expect(await answer(bare, `/api/inferences/${id}/input`)).toEqual({ status: 502, code: 'DATA_UNAVAILABLE' })
  })
})
