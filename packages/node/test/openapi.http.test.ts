import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mnistImage } from '@verity/runtime'
import { getInference, infer } from '@verity/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Devnet, startDevnet } from '../../cli/src/devnet/startDevnet.js'
import { openApiValidator } from '../../protocol/test/openApiValidator.js'

const committed = (path: string) =>
  JSON.parse(readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8')) as Record<string, unknown>

/**
 * Real answers of a running node and verifier, validated against the committed OpenAPI documents
 * (docs/openapi.json, docs/openapi-verifier.json) with Ajv, a JSON Schema validator independent of
 * the zod schema they are generated from.
 */
describe('a running node and verifier answer as their OpenAPI documents say', () => {
  let net: Devnet
  beforeAll(async () => {
    net = await startDevnet({
      dir: join(mkdtempSync(join(tmpdir(), 'verity-openapi-')), 'net'),
      nodes: 1,
      verifiers: 1,
      window: 30,
      batchSize: 2,
      batchAgeMs: 300,
    })
  })
  afterAll(async () => net?.stop())

  /** GET `path`, expecting `status`; the JSON body is checked against `component` of `document`. */
  async function valid(base: string, document: Record<string, unknown>, path: string, status: number, component: string) {
    const answer = await fetch(`${base}${path}`)
    const body = (await answer.json()) as unknown
    expect(answer.status, `${path} → ${JSON.stringify(body).slice(0, 300)}`).toBe(status)
    expect(openApiValidator(document)(component, body), `${path} as ${component}`).toEqual([])
    return body
  }

  it('the node serves the committed document at GET /openapi.json', async () => {
    const served = await (await fetch(`${net.nodes[0]!.url}/openapi.json`)).json()
    expect(served).toEqual(committed('docs/openapi.json'))
  })

  it('every node endpoint: success and error answers match the document', async () => {
    const doc = committed('docs/openapi.json')
    const node = net.nodes[0]!.url
    // Through the SDK, which validates the node's answers with the same schema.
    const answers = []
    for (const image of [0, 1])
      answers.push(await infer(net.client, { modelId: net.modelId, inputs: { Input3: mnistImage(net.mnist, image) }, node }))
    const { inferenceId, receipt } = answers[0]!
    const client = net.client.account.address
    await valid(node, doc, '/healthz', 200, 'NodeHealth')
    await valid(node, doc, `/v1/channels/${client}`, 200, 'Channel')
    await valid(node, doc, `/v1/data/${receipt.inputHash}`, 200, 'InputData')
    await valid(node, doc, '/v1/receipts?after=0&limit=10', 200, 'ReceiptsFeed')
    // Committed: the inference names its batch, the proof and the batch are served.
    let inference = (await valid(node, doc, `/v1/inferences/${inferenceId}`, 200, 'Inference')) as {
      batch: { batchId: number | null; root: string } | null
    }
    for (let i = 0; i < 200 && inference.batch?.batchId == null; i++) {
      await new Promise((r) => setTimeout(r, 100))
      inference = (await valid(node, doc, `/v1/inferences/${inferenceId}`, 200, 'Inference')) as typeof inference
    }
    expect(inference.batch?.batchId).toBeTypeOf('number')
    await valid(node, doc, `/v1/inferences/${inferenceId}/proof`, 200, 'InclusionProof')
    const batch = (await valid(node, doc, `/v1/batches/${inference.batch!.root}`, 200, 'Batch')) as { receipts: unknown[] }
    expect(batch.receipts.length).toBeGreaterThan(0)
    expect((await getInference(net.client, { inferenceId, node })).receipt).toEqual(receipt)
    // Errors: every one is the document's Error.
    const unknownId = `0x${'00'.repeat(32)}`
    await valid(node, doc, `/v1/inferences/${unknownId}`, 404, 'Error')
    await valid(node, doc, '/v1/inferences/0x12', 400, 'Error')
    await valid(node, doc, `/v1/data/${unknownId}`, 404, 'Error')
    await valid(node, doc, '/v1/receipts?after=-1', 400, 'Error')
    await valid(node, doc, '/v1/channels/nobody', 400, 'Error')
    const refused = await fetch(`${node}/v1/infer`, { method: 'POST', body: '{"request":{}}' })
    const body = (await refused.json()) as { error: { code: string } }
    expect([refused.status, body.error.code]).toEqual([400, 'INVALID_MESSAGE'])
    expect(openApiValidator(doc)('Error', body)).toEqual([])
    // The SDK's own request body is what the document says a request is.
    expect(
      openApiValidator(doc)(
        'InferenceRequest',
        JSON.parse(JSON.stringify(answers[1]!.request, (_, v) => (typeof v === 'bigint' ? v.toString() : v))),
      ),
    ).toEqual([])
  })

  it('the verifier: /healthz and /v1/checks match its document', async () => {
    const doc = committed('docs/openapi-verifier.json')
    const verifier = net.verifierUrls[0]!
    await valid(verifier, doc, '/healthz', 200, 'VerifierHealth')
    await valid(verifier, doc, '/v1/checks?after=0&limit=10', 200, 'ChecksFeed')
    await valid(verifier, doc, '/v1/checks?limit=0', 400, 'Error')
  })
})
