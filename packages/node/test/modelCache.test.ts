import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { importOnnx, loadMnist, mnistImage } from '@verity/runtime'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiError, createHub, ModelCache, serveApp } from '../src/index.js'

const data = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'data')

describe('hub and model cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'verity-hub-'))
  let server: Awaited<ReturnType<typeof serveApp>>
  const artifacts: Uint8Array[] = []
  beforeAll(async () => {
    server = await serveApp(createHub({ dir }).app)
    const mnist = loadMnist(join(data, 'datasets', 'mnist'))
    const onnx = readFileSync(join(data, 'models', 'mnist-8.onnx'))
    // Two different models: the same network calibrated on different images has different scales.
    for (const count of [4, 8]) {
      artifacts.push(
        importOnnx(onnx, { calibration: Array.from({ length: count }, (_, i) => ({ Input3: mnistImage(mnist, 9999 - i) })) }).artifact,
      )
    }
  })
  afterAll(() => server.close())

  it('stores artifacts by their sha256 and refuses what does not load', async () => {
    const ids: string[] = []
    for (const artifact of artifacts) {
      const answer = (await (await fetch(`${server.url}/v1/models`, { method: 'PUT', body: artifact })).json()) as {
        modelId: string
        bytes: number
      }
      expect(answer.bytes).toBe(artifact.length)
      ids.push(answer.modelId)
    }
    expect(new Set(ids).size).toBe(2)
    expect(((await (await fetch(`${server.url}/v1/models`)).json()) as { models: string[] }).models.sort()).toEqual([...ids].sort())
    const bad = await fetch(`${server.url}/v1/models`, { method: 'PUT', body: new Uint8Array([1, 2, 3]) })
    expect(bad.status).toBe(422)
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('ARTIFACT_INVALID')
    expect((await fetch(`${server.url}/v1/models/0x${'00'.repeat(32)}`)).status).toBe(404)
    expect((await fetch(`${server.url}/v1/models/not-an-id`)).status).toBe(400)
  })

  it('loads several models at once by id, and refuses bytes that do not hash to the id', async () => {
    const cache = new ModelCache(server.url)
    const [a, b] = await Promise.all(
      artifacts.map((artifact) => cache.add(artifact).modelId).map((id) => new ModelCache(server.url).get(id)),
    )
    expect(a!.modelId).not.toBe(b!.modelId)
    expect(Array.from(a!.artifact)).toEqual(Array.from(artifacts[0]!))
    // Tamper with the stored file: the hub serves it, the cache must refuse it.
    const id = a!.modelId
    writeFileSync(join(dir, `${id}.vrty`), artifacts[1]!)
    const error = await new ModelCache(server.url).get(id).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect((error as ApiError).code).toBe('MODEL_HASH_MISMATCH')
    expect((error as ApiError).status).toBe(502)
    const unknown = await new ModelCache(server.url).get(`0x${'12'.repeat(32)}`).catch((e: unknown) => e)
    expect((unknown as ApiError).code).toBe('MODEL_NOT_FOUND')
  })
})
