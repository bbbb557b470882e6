import { encodeMode } from '@verity/contracts'
import { describe, expect, it } from 'vitest'
import { nodeAccount, refusal, signedInfer } from '../../test/inferFixture.js'
import { parseInferRequest } from './parseInferRequest.js'

const at = { node: nodeAccount.address, nowMs: Date.now() }
/** `address` with the case of its first letter flipped: mixed case, no longer its EIP-55 checksum. */
const wrongChecksum = (address: string) => address.replace(/[a-fA-F]/, (c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()))

describe('parseInferRequest', () => {
  it('returns the signed request, its signature and the inputs as sent', async () => {
    const signed = await signedInfer(0)
    const parsed = parseInferRequest(JSON.stringify(signed.body), at)
    expect(parsed).toEqual({
      request: signed.request,
      signature: signed.signature,
      inputs: signed.body.inputs,
      values: true,
      encoding: 'json',
    })
  })

  it('reads whether the answer carries output values: true unless the body says false', async () => {
    const { body } = await signedInfer(0)
    expect(parseInferRequest(JSON.stringify({ ...body, values: false }), at).values).toBe(false)
    expect(parseInferRequest(JSON.stringify({ ...body, values: true }), at).values).toBe(true)
    expect(parseInferRequest(JSON.stringify(body), at).values).toBe(true)
  })

  it('reads how the answer writes raw: json unless the body says base64', async () => {
    const { body } = await signedInfer(0)
    expect(parseInferRequest(JSON.stringify({ ...body, encoding: 'base64' }), at).encoding).toBe('base64')
    expect(parseInferRequest(JSON.stringify({ ...body, encoding: 'json' }), at).encoding).toBe('json')
    expect(parseInferRequest(JSON.stringify(body), at).encoding).toBe('json')
  })

  it('accepts the node address in any case', async () => {
    const signed = await signedInfer(0, { node: nodeAccount.address.toLowerCase() as `0x${string}` })
    expect(parseInferRequest(JSON.stringify(signed.body), at).request.node).toBe(nodeAccount.address.toLowerCase())
  })

  it('refuses each malformed, misaddressed, expired or unservable body with its status and code', async () => {
    const { body } = await signedInfer(0)
    const text = (b: unknown) => JSON.stringify(b)
    const cases: [string, string][] = [
      ['not JSON', '{"request": '],
      ['an array', '[]'],
      ['null', 'null'],
      ['no request', text({ signature: body.signature, inputs: body.inputs })],
      ['a request without its nonce', text({ ...body, request: { ...body.request, nonce: undefined } })],
      ['a mode as a decimal string', text({ ...body, request: { ...body.request, mode: '1' } })],
      ['no signature', text({ request: body.request, inputs: body.inputs })],
      ['a 64-byte signature', text({ ...body, signature: body.signature.slice(0, 130) })],
      ['a signature not hex', text({ ...body, signature: `0x${'zz'.repeat(65)}` })],
      ['another node', text((await signedInfer(0, { node: `0x${'99'.repeat(20)}` })).body)],
      // This node's address in mixed case that is not its checksum (what no EIP-712 encoder hashes).
      ['the node with a wrong checksum', text({ ...body, request: { ...body.request, node: wrongChecksum(nodeAccount.address) } })],
      ['a past deadline', text((await signedInfer(0, { deadline: BigInt(Math.floor(at.nowMs / 1000) - 1) })).body)],
      ['zk mode', text((await signedInfer(0, { mode: encodeMode('zk') })).body)],
      ['values as a string', text({ ...body, values: 'false' })],
      ['values as a number', text({ ...body, values: 0 })],
      ['an unknown encoding', text({ ...body, encoding: 'hex' })],
      ['encoding as a number', text({ ...body, encoding: 64 })],
    ]
    const outcomes = Object.fromEntries(
      await Promise.all(cases.map(async ([name, t]) => [name, await refusal(() => parseInferRequest(t, at))] as const)),
    )
    expect(outcomes).toEqual({
      'not JSON': [400, 'MALFORMED_JSON'],
      'an array': [400, 'INVALID_REQUEST'],
      null: [400, 'INVALID_REQUEST'],
      'no request': [400, 'INVALID_MESSAGE'],
      'a request without its nonce': [400, 'INVALID_MESSAGE'],
      'a mode as a decimal string': [400, 'INVALID_MESSAGE'],
      'no signature': [400, 'INVALID_SIGNATURE'],
      'a 64-byte signature': [400, 'INVALID_SIGNATURE'],
      'a signature not hex': [400, 'INVALID_SIGNATURE'],
      'another node': [400, 'WRONG_NODE'],
      'the node with a wrong checksum': [400, 'INVALID_MESSAGE'],
      'a past deadline': [400, 'REQUEST_EXPIRED'],
      'zk mode': [400, 'MODE_UNSUPPORTED'],
      'values as a string': [400, 'INVALID_VALUES'],
      'values as a number': [400, 'INVALID_VALUES'],
      'an unknown encoding': [400, 'INVALID_ENCODING'],
      'encoding as a number': [400, 'INVALID_ENCODING'],
    })
  })

  it('checks the deadline against the time it is given, to the second', async () => {
    const { body, request } = await signedInfer(0)
    const deadlineMs = Number(request.deadline) * 1000
    expect(parseInferRequest(JSON.stringify(body), { node: nodeAccount.address, nowMs: deadlineMs }).request).toEqual(request)
    expect(await refusal(() => parseInferRequest(JSON.stringify(body), { node: nodeAccount.address, nowMs: deadlineMs + 1 }))).toEqual([
      400,
      'REQUEST_EXPIRED',
    ])
  })
})
