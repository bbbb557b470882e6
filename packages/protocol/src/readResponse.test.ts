import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { boundedFetch, ResponseInvalidError } from './boundedFetch.js'
import { InferenceResponse, InferResponse, NodeHealth, ProofResponse } from './httpApi.js'
import { fetchValid, readResponse } from './readResponse.js'

const hex32 = `0x${'ab'.repeat(32)}`
const receipt = {
  requestHash: hex32,
  modelId: hex32,
  inputHash: hex32,
  outputHash: hex32,
  node: '0x0000000000000000000000000000000000000001',
  client: '0x0000000000000000000000000000000000000002',
  fee: '1000',
  issuedAt: '1700000000',
  mode: 1,
}
const inference = {
  inferenceId: hex32,
  receipt,
  signature: `0x${'11'.repeat(65)}`,
  trust: 'EXECUTED',
  attestations: 0,
  timeline: [{ level: 'EXECUTED', at: 1 }],
  batch: null,
}
const DEEP = 50_000

/** A hostile node: answers each path with the body given, status 200. */
const bodies: Record<string, string> = {
  '/ok': JSON.stringify(inference),
  '/fee-number': JSON.stringify({ ...inference, receipt: { ...receipt, fee: 1000 } }),
  '/trust-made-up': JSON.stringify({ ...inference, trust: 'TRUSTED' }),
  '/deep': `${'{"a":'.repeat(DEEP)}1${'}'.repeat(DEEP)}`,
  '/deep-field': `{"inferenceId":${'['.repeat(DEEP)}${']'.repeat(DEEP)}}`,
  '/huge-proof': JSON.stringify({ inferenceId: hex32, batchId: 1, index: 0, count: 1, root: hex32, proof: Array(200_000).fill(7) }),
  '/health-no-price': JSON.stringify({ ok: true, role: 'inference', node: receipt.node, chainId: 1 }),
  '/bad-values': JSON.stringify({
    inferenceId: hex32,
    receipt,
    signature: `0x${'11'.repeat(65)}`,
    outputs: { y: { shape: [1], scale: 1, raw: [1, 2, 3, ...Array(300_000 - 3).fill('x')], values: [] } },
  }),
  '/not-json': '{"inferenceId":',
}

describe('readResponse: an answer not matching the API schema is a typed RESPONSE_INVALID naming the field', () => {
  let server: Server
  let base: string
  beforeAll(async () => {
    server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(bodies[req.url ?? ''] ?? '{}')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  const refusal = async (path: string, schema: Parameters<typeof readResponse>[1]) => {
    const error = await fetchValid(`${base}${path}`, schema).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ResponseInvalidError)
    expect((error as ResponseInvalidError).code).toBe('RESPONSE_INVALID')
    return (error as ResponseInvalidError).details.problem as string
  }

  it('accepts a conforming answer, typed', async () => {
    const answer = await fetchValid(`${base}/ok`, InferenceResponse)
    expect(answer.receipt.fee).toBe('1000')
    expect(answer.batch).toBeNull()
  })

  it('says which field, what it must be and what was found', async () => {
    expect(await refusal('/fee-number', InferenceResponse)).toBe('body.receipt.fee must be a decimal string, found 1000')
    expect(await refusal('/trust-made-up', InferenceResponse)).toMatch(/^body\.trust must be valid .*found "TRUSTED"$/)
    expect(await refusal('/health-no-price', NodeHealth)).toBe('body.price must be a decimal string, found nothing')
    expect(await refusal('/not-json', InferenceResponse)).toMatch(/not JSON/)
  })

  it('deep nesting and huge arrays: a bounded message, no stack overflow', async () => {
    for (const [path, schema] of [
      ['/deep', InferenceResponse],
      ['/deep-field', InferenceResponse],
      ['/huge-proof', ProofResponse],
      ['/bad-values', InferResponse],
    ] as const) {
      const problem = await refusal(path, schema)
      expect(problem.length).toBeLessThan(300)
    }
    expect(await refusal('/bad-values', InferResponse)).toBe(
      'body.outputs.y.raw must be an array of int16 integers or a base64 string (item 3 of the array is not an int16 integer), found an array of 300000 items',
    )
    expect(await refusal('/deep-field', InferenceResponse)).toBe(
      'body.inferenceId must be 0x followed by 64 hex digits, found an array of 1 item',
    )
    expect(await refusal('/huge-proof', ProofResponse)).toBe('body.proof must be at most 64 hashes, found an array of 200000 items')
  })

  it('readResponse on an answer already fetched', async () => {
    const answer = await boundedFetch(`${base}/fee-number`)
    expect(() => readResponse(answer, InferenceResponse)).toThrow(ResponseInvalidError)
  })
})
