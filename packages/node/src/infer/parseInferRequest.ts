import { decodeMode, describeValue, type InferenceRequest, requestFromWire } from '@verity/contracts'
import { type Hex, isHex } from 'viem'
import { badRequest } from '../errors.js'

/** A `/v1/infer` body this node accepts to look at: its request, the client's signature, the inputs as sent. */
export type ParsedInferRequest = { request: InferenceRequest; signature: Hex; inputs: unknown }

export type ParseInferRequestParameters = {
  /** This node's address: a request addressed to another node is refused. */
  node: Hex
  /** The time the request is checked against its deadline, ms since the epoch. */
  nowMs: number
}

/**
 * The first step of `/v1/infer`: the body text as a request this node may serve — JSON, an object
 * `{ request, signature, inputs }`, a well-formed request message, a 65-byte signature, addressed to
 * this node, before its deadline, in a mode this node serves. Nothing is looked up; the inputs stay
 * as sent (their shape depends on the model).
 *
 * @example
 * const { request, signature, inputs } = parseInferRequest(await c.req.text(), { node: account.address, nowMs: Date.now() })
 */
export function parseInferRequest(text: string, { node, nowMs }: ParseInferRequestParameters): ParsedInferRequest {
  let body: { request?: unknown; signature?: unknown; inputs?: unknown }
  try {
    body = JSON.parse(text)
  } catch (error) {
    throw badRequest('MALFORMED_JSON', `the body is not JSON: ${(error as Error).message}`)
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw badRequest('INVALID_REQUEST', 'the body must be an object { request, signature, inputs }')
  const request = requestFromWire(body.request)
  const signature = body.signature
  if (typeof signature !== 'string' || !isHex(signature) || signature.length !== 132)
    throw badRequest('INVALID_SIGNATURE', `signature must be 65 bytes of 0x-hex, found ${describeValue(signature)}`)
  if (request.node.toLowerCase() !== node.toLowerCase())
    throw badRequest('WRONG_NODE', `the request is addressed to ${request.node}, this node is ${node}`)
  if (request.deadline * 1000n < BigInt(nowMs))
    throw badRequest('REQUEST_EXPIRED', `the request's deadline ${request.deadline} passed (now ${Math.floor(nowMs / 1000)})`)
  if (decodeMode(request.mode) === 'zk') throw badRequest('MODE_UNSUPPORTED', 'this node does not produce zk proofs')
  return { request, signature, inputs: body.inputs }
}
