import { decodeMode, describeValue, type InferenceRequest, requestFromWire } from '@verity/contracts'
import { isAddress, OUTPUT_ENCODINGS, type OutputEncoding } from '@verity/protocol/core'
import { type Hex, isHex } from 'viem'
import { badRequest } from '../errors.js'

/**
 * A `/v1/infer` body this node accepts to look at: its request, the client's signature, the inputs as
 * sent, the client the body names (optional; the signature must recover to it), whether the answer's
 * outputs carry their `values` (optional, default true) and how their `raw` is written (optional,
 * default json).
 */
export type ParsedInferRequest = {
  request: InferenceRequest
  signature: Hex
  inputs: unknown
  claimedClient?: Hex
  values: boolean
  encoding: OutputEncoding
}

export type ParseInferRequestParameters = {
  /** This node's address: a request addressed to another node is refused. */
  node: Hex
  /** The time the request is checked against its deadline, ms since the epoch. */
  nowMs: number
}

/**
 * The first step of `/v1/infer`: the body text as a request this node may serve — JSON, an object
 * `{ request, signature, inputs }`, a well-formed request message, a 65-byte signature, addressed to
 * this node, before its deadline, in a mode this node serves, and the client it names (if any) an
 * address. Nothing is looked up; the inputs stay as sent (their shape depends on the model).
 *
 * @example
 * const { request, signature, inputs } = parseInferRequest(await c.req.text(), { node: account.address, nowMs: Date.now() })
 */
export function parseInferRequest(text: string, { node, nowMs }: ParseInferRequestParameters): ParsedInferRequest {
  let body: { request?: unknown; signature?: unknown; inputs?: unknown; client?: unknown; values?: unknown; encoding?: unknown }
  try {
    body = JSON.parse(text)
  } catch (error) {
    throw badRequest('MALFORMED_JSON', `the body is not JSON: ${(error as Error).message}`)
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw badRequest('INVALID_REQUEST', 'the body must be an object { request, signature, inputs, client?, values?, encoding? }')
  const request = requestFromWire(body.request)
  const signature = body.signature
  if (typeof signature !== 'string' || !isHex(signature) || signature.length !== 132)
    throw badRequest('INVALID_SIGNATURE', `signature must be 65 bytes of 0x-hex, found ${describeValue(signature)}`)
  // Mixed case is an EIP-55 checksum, and a wrong one no EIP-712 encoder hashes (viem's, ours): the client's mistake, not a 500.
  if (!isAddress(request.node))
    throw badRequest('INVALID_MESSAGE', `request.node must be an address in lower case or with its EIP-55 checksum, found ${request.node}`)
  if (request.node.toLowerCase() !== node.toLowerCase())
    throw badRequest('WRONG_NODE', `the request is addressed to ${request.node}, this node is ${node}`)
  if (request.deadline * 1000n < BigInt(nowMs))
    throw badRequest('REQUEST_EXPIRED', `the request's deadline ${request.deadline} passed (now ${Math.floor(nowMs / 1000)})`)
  if (decodeMode(request.mode) === 'zk') throw badRequest('MODE_UNSUPPORTED', 'this node does not produce zk proofs')
  if (body.values !== undefined && typeof body.values !== 'boolean')
    throw badRequest('INVALID_VALUES', `values, when given, must be true or false, found ${describeValue(body.values)}`)
  const values = body.values !== false
  if (body.encoding !== undefined && !OUTPUT_ENCODINGS.includes(body.encoding as OutputEncoding))
    throw badRequest(
      'INVALID_ENCODING',
      `encoding, when given, must be one of ${OUTPUT_ENCODINGS.map((e) => `"${e}"`).join(', ')}, found ${describeValue(body.encoding)}`,
    )
  const encoding = (body.encoding ?? 'json') as OutputEncoding
  const claimed = body.client
  if (claimed === undefined) return { request, signature, inputs: body.inputs, values, encoding }
  if (typeof claimed !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(claimed))
    throw badRequest('INVALID_CLIENT', `client, when given, must be an address (0x and 40 hex digits), found ${describeValue(claimed)}`)
  return { request, signature, inputs: body.inputs, claimedClient: claimed.toLowerCase() as Hex, values, encoding }
}
