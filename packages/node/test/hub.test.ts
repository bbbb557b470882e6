import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { identifyModel } from '@verity/contracts'
import { encodeArtifact, loadModel, type Model } from '@verity/runtime'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHub, serveApp } from '../src/index.js'

/** A one-op model; `name` makes its artifact (and so its id) distinct. */
const tiny = (name: string): Uint8Array =>
  encodeArtifact({
    name,
    source: { file: `${name}.onnx`, sha256: '00'.repeat(32), opset: 13 },
    inputs: [0],
    outputs: [1],
    tensors: [
      { name: 'x', kind: 'input', dtype: 'int16', shape: [1, 4], scale: 1 },
      { name: 'y', kind: 'activation', dtype: 'int16', shape: [1, 4], scale: 1 },
    ],
    nodes: [{ name: 'relu', op: 'Relu', inputs: [0], output: 1, attrs: {} }],
    constants: new Map(),
  } satisfies Model)

describe('hub', () => {
  let server: Awaited<ReturnType<typeof serveApp>>
  beforeAll(async () => {
    server = await serveApp(createHub({ dir: mkdtempSync(join(tmpdir(), 'verity-hub-')) }).app)
  })
  afterAll(() => server.close())

  it('stores artifacts under their model id, answers with every root, and refuses what does not load', async () => {
    const ids: string[] = []
    for (const artifact of [tiny('a'), tiny('b')]) {
      const answer = (await (await fetch(`${server.url}/v1/models`, { method: 'PUT', body: artifact })).json()) as { modelId: string }
      expect(answer).toEqual({ ...identifyModel(loadModel(artifact)), bytes: artifact.length, name: loadModel(artifact).model.name })
      expect(Buffer.from(await (await fetch(`${server.url}/v1/models/${answer.modelId}`)).arrayBuffer()).equals(artifact)).toBe(true)
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
})
