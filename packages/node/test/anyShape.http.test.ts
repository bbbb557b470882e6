import { mkdtempSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eip712Types, requestFromWire, requestToWire, verityDomain } from '@verity/contracts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Devnet, startDevnet } from '../../cli/src/devnet/startDevnet.js'

/** One raw HTTP exchange: the bytes go as given (no client-side encoding or validation). */
function raw(base: string, method: string, path: string, body?: string | Buffer): Promise<{ status: number; text: string }> {
  const url = new URL(base)
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

const DEEP = 50_000
const deepArray = `${'['.repeat(DEEP)}${']'.repeat(DEEP)}`
const deepObject = `${'{"a":'.repeat(DEEP)}1${'}'.repeat(DEEP)}`
const hugeArray = `[${Array.from({ length: 150_000 }, () => '7').join(',')}]`
const oddStrings = [
  '"\\ud800"',
  '"\\u0000\\u202e\\ufeff"',
  `"${'💩'.repeat(20_000)}"`,
  '"NaN"',
  '-0',
  '1e400',
  'true',
  'null',
  '{"__proto__":{"x":1}}',
]
const shapes = { deepArray, deepObject, hugeArray, ...Object.fromEntries(oddStrings.map((s, i) => [`odd${i}`, s])) }

const hex32 = `"0x${'ab'.repeat(32)}"`
const request0: Record<string, string> = {
  modelId: hex32,
  inputHash: hex32,
  node: '"0x0000000000000000000000000000000000000001"',
  mode: '1',
  maxFee: '"1"',
  nonce: '"1"',
  deadline: '"99999999999"',
}
const requestJson = (fields: Record<string, string>) =>
  `{${Object.entries(fields)
    .map(([k, v]) => `"${k}":${v}`)
    .join(',')}}`
const sig = `"0x${'11'.repeat(65)}"`

/**
 * Inputs of any shape get a typed 4xx from every HTTP role, never a 5xx: deeply nested JSON in
 * each field, huge arrays, odd unicode, odd path and query values. Sent as raw HTTP.
 */
describe('every HTTP role answers inputs of any shape with a 4xx', () => {
  let net: Devnet
  beforeAll(async () => {
    net = await startDevnet({ dir: join(mkdtempSync(join(tmpdir(), 'verity-shapes-')), 'net'), nodes: 1, verifiers: 1, window: 30 })
  })
  afterAll(async () => net?.stop())

  const expect4xx = async (base: string, method: string, path: string, body?: string | Buffer) => {
    const answer = await raw(base, method, path, body)
    const what = `${method} ${path.slice(0, 80)} ${body === undefined ? '' : String(body).slice(0, 80)}`
    expect(answer.status, `${what} → ${answer.status} ${answer.text.slice(0, 300)}`).toBeGreaterThanOrEqual(400)
    expect(answer.status, `${what} → ${answer.status} ${answer.text.slice(0, 300)}`).toBeLessThan(500)
    const parsed = JSON.parse(answer.text) as { error: { code: string; message: string } }
    expect(parsed.error.code, what).toMatch(/^[A-Z_]+$/)
    // The message describes the caller's value boundedly.
    expect(parsed.error.message.length, what).toBeLessThan(1000)
    expect(answer.text.length, what).toBeLessThan(10_000)
    return parsed.error
  }

  it('node: POST /v1/infer with any shape in any field of the request, the signature, the inputs and the body', async () => {
    const node = net.nodes[0]!.url
    for (const [name, value] of Object.entries(shapes)) {
      await expect4xx(node, 'POST', '/v1/infer', value)
      await expect4xx(node, 'POST', '/v1/infer', `{"request":${value},"signature":${sig},"inputs":{}}`)
      for (const field of Object.keys(request0))
        await expect4xx(
          node,
          'POST',
          '/v1/infer',
          `{"request":${requestJson({ ...request0, [field]: value })},"signature":${sig},"inputs":{}}`,
        )
      await expect4xx(node, 'POST', '/v1/infer', `{"request":${requestJson(request0)},"signature":${value},"inputs":{}}`)
      void name
    }
    await expect4xx(node, 'POST', '/v1/infer', Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0xc3]))
  })

  it('node: a validly signed request whose inputs have any shape', async () => {
    const node = net.nodes[0]!
    const request = requestFromWire({
      modelId: net.modelId,
      inputHash: `0x${'ab'.repeat(32)}`,
      node: node.node.address,
      mode: 1,
      maxFee: '10000000000000000',
      nonce: '12345',
      deadline: String(Math.floor(Date.now() / 1000) + 600),
      channelTotal: '10000000000000000',
    })
    const signature = await net.client.account.signTypedData({
      domain: verityDomain(net.client.domain),
      types: eip712Types,
      primaryType: 'InferenceRequest',
      message: request,
    })
    const send = (inputs: string) =>
      expect4xx(
        node.url,
        'POST',
        '/v1/infer',
        `{"request":${JSON.stringify(requestToWire(request))},"signature":"${signature}","inputs":${inputs}}`,
      )
    const codes = new Set<string>()
    for (const value of Object.values(shapes)) {
      for (const inputs of [
        value,
        `{"Input3":${value}}`,
        `{"Input3":{"shape":${value},"data":[]}}`,
        `{"Input3":{"shape":[1,1,28,28],"data":${value}}}`,
        `{${value.startsWith('"') ? `${value}:1` : '"x":1'}}`,
      ])
        codes.add((await send(inputs)).code)
    }
    expect([...codes].sort()).toEqual(['INPUT_DTYPE_MISMATCH', 'INPUT_MISSING', 'INPUT_SHAPE_MISMATCH'])
  })

  it('node, verifier, hub and dashboard: odd paths and query values', async () => {
    const odd = ['%F0%9F%92%A9', '%00', '%ud800', 'x'.repeat(4000), '..%2F..%2Fetc', `0x${'Z'.repeat(64)}`, '%E2%80%AE']
    const node = net.nodes[0]!.url
    const verifier = net.verifierUrls[0]!
    for (const v of odd) {
      for (const path of [
        `/v1/inferences/${v}`,
        `/v1/inferences/${v}/proof`,
        `/v1/batches/${v}`,
        `/v1/data/${v}`,
        `/v1/receipts?after=${v}&limit=${v}`,
      ])
        await expect4xx(node, 'GET', path)
      await expect4xx(verifier, 'GET', `/v1/checks?after=${v}&limit=${v}`)
      await expect4xx(net.hubUrl, 'GET', `/v1/models/${v}`)
      for (const path of [`/api/inferences/${v}`, `/api/inferences/${v}/input`, `/api/models/${v}/artifact`])
        await expect4xx(net.dashboardUrl, 'GET', path)
      await expect4xx(net.dashboardUrl, 'POST', `/api/inferences/${v}/audit`)
    }
    for (const value of Object.values(shapes)) await expect4xx(net.hubUrl, 'PUT', '/v1/models', value)
    // Queries a role reads leniently (a default for what it cannot use) still never fail.
    for (const v of odd)
      for (const path of [`/api/inferences?limit=${v}&before=${v}`, `/api/trust-gap?buckets=${v}`, `/api/verification?buckets=${v}`]) {
        const answer = await raw(net.dashboardUrl, 'GET', path)
        expect(answer.status, `${path.slice(0, 80)} → ${answer.text.slice(0, 200)}`).toBe(200)
      }
  })
})
