import {
  type BoundedResponse,
  boundedFetch,
  ErrorBody,
  eip712Types,
  encodeMode,
  fetchValid,
  hashReceipt,
  type InferenceRequest,
  InferResponse,
  inputsToWire,
  NodeHealth,
  outputsToWire,
  type Receipt,
  type ResponseInvalidError,
  readResponse,
  receiptFromWire,
  requestToWire,
  type VerificationMode,
  verityDomain,
  type WireOutput,
} from '@verity/protocol'
import { quantizeInputs, type TensorInput, tensorsHash } from '@verity/runtime'
import type { Address, Hex } from 'viem'
import { reserveOnChannel } from './channel.js'
import { checkAnswer } from './checkAnswer.js'
import type { ModelLoaderErrorType } from './createModelLoader.js'
import type { VerityClient } from './createVerityClient.js'
import { discoverNodes } from './discoverNodes.js'
import { InferenceRejectedError, InvalidReceiptError, NoNodeAvailableError } from './errors.js'

export type InferParameters = {
  modelId: Hex
  /** Real-valued inputs by name; quantized locally with the model's input spec. */
  inputs: Record<string, TensorInput>
  mode?: VerificationMode
  /**
   * Highest fee the client accepts, in token base units (default 10^16). The request is signed for
   * the node's advertised price when it is within this bound (the fee a node charges is what the
   * client signs).
   */
  maxFee?: bigint
  /** Seconds the signed request stays valid (default 60). */
  ttlSeconds?: number
  /** Ask this node (URL) first. */
  node?: string
}

/** One output: named, shaped and scaled as the model says; `raw` checked against the receipt; `values` = raw · scale, computed here. */
export type InferOutput = WireOutput

export type InferReturnType = {
  inferenceId: Hex
  outputs: Record<string, InferOutput>
  receipt: Receipt
  signature: Hex
  node: { address: Address; url: string }
  request: InferenceRequest
  /** Milliseconds from sending the request to holding a checked, signed receipt. */
  latencyMs: number
}

export type InferErrorType =
  | NoNodeAvailableError
  | InferenceRejectedError
  | InvalidReceiptError
  | ResponseInvalidError
  | ModelLoaderErrorType

/** A node's answer to a request is small (a receipt, the outputs): bounded like any served object. */
const NODE_ANSWER_LIMITS = { timeoutMs: 120_000, maxBytes: 8 * 1024 * 1024 }

/** Per client (a client is one chain and deployment): the same URL on another devnet is another node. */
const addresses = new WeakMap<VerityClient, Map<string, { node: Address; price?: bigint }>>()

async function candidates(client: VerityClient, preferred?: string): Promise<{ url: string; address?: Address }[]> {
  const list = client.nodes
    ? client.nodes.map((url) => ({ url }))
    : (await discoverNodes(client)).map((n) => ({ url: n.url, address: n.address }))
  const start = Math.floor(Math.random() * Math.max(1, list.length))
  const rotated = [...list.slice(start), ...list.slice(0, start)]
  if (preferred) return [{ url: preferred }, ...rotated.filter((n) => n.url !== preferred)]
  return rotated
}

/** The node's address and advertised price, from its `/healthz` (cached per client and URL, at most 1,000 URLs). */
async function nodeInfo(client: VerityClient, url: string): Promise<{ node: Address; price?: bigint }> {
  let known = addresses.get(client)
  if (!known) {
    known = new Map()
    addresses.set(client, known)
  }
  let info = known.get(url)
  if (!info) {
    const health = await fetchValid(`${url}/healthz`, NodeHealth, { timeoutMs: 10_000, maxBytes: 1 << 20 })
    info = { node: health.node as Address, price: BigInt(health.price) }
    if (known.size >= 1000) known.delete(known.keys().next().value!)
    known.set(url, info)
  }
  return info
}

/**
 * Asks a node for an inference: quantizes the inputs, signs the request (EIP-712, authorizing the
 * fee), sends it, and checks the answer — the node's signature on the receipt, every receipt field
 * against the request, and the outputs against the receipt's output hash. The outputs returned are the
 * checked int16 tensors with the model's names, shapes and scales and their values computed here: the
 * node is asked for no values and for `raw` in base64, and nothing it sends beyond `raw` is used. Nodes come from the
 * on-chain registry; when one is down (unreachable or 5xx) the next is tried.
 *
 * @example
 * const { inferenceId, outputs, receipt } = await infer(client, { modelId, inputs: { Input3: { shape: [1, 1, 28, 28], data } } })
 */
export async function infer(client: VerityClient, parameters: InferParameters): Promise<InferReturnType> {
  const model = await client.model(parameters.modelId)
  const quantized = quantizeInputs(model, parameters.inputs)
  const inputHash = tensorsHash(quantized)
  const body = inputsToWire(model, quantized)
  const attempts: { node: string; error: string }[] = []
  for (const candidate of await candidates(client, parameters.node)) {
    const started = performance.now()
    let response: BoundedResponse
    let request: InferenceRequest
    let reservation: { release(): void } | undefined
    try {
      const info = await nodeInfo(client, candidate.url)
      const node = candidate.address ?? info.node
      const bound = parameters.maxFee ?? 10n ** 16n
      const fee = info.price !== undefined && info.price <= bound ? info.price : bound
      const channel = await reserveOnChannel(client, { address: node, url: candidate.url }, fee)
      reservation = channel
      request = {
        modelId: parameters.modelId.toLowerCase() as Hex,
        inputHash,
        node,
        mode: encodeMode(parameters.mode ?? 'optimistic'),
        maxFee: fee,
        nonce: crypto.getRandomValues(new BigUint64Array(1))[0]!,
        deadline: BigInt(Math.floor(Date.now() / 1000) + (parameters.ttlSeconds ?? 60)),
        channelTotal: channel.channelTotal,
      }
      const signature = await client.account.signTypedData({
        domain: verityDomain(client.domain),
        types: eip712Types,
        primaryType: 'InferenceRequest',
        message: request,
      })
      response = await boundedFetch(`${candidate.url}/v1/infer`, {
        ...NODE_ANSWER_LIMITS,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        // Naming the signer lets the node price the request before any signature work (it refuses it unless the signature is this client's).
        // The values are computed here from the checked `raw` and the model's scales (the node's are not
        // committed to); `raw` comes in base64, a third of the decimals' text for a language model's logits.
        body: JSON.stringify({
          request: requestToWire(request),
          signature,
          inputs: body,
          client: client.account.address,
          values: false,
          encoding: 'base64',
        }),
      })
    } catch (error) {
      attempts.push({ node: candidate.url, error: (error as Error).message })
      continue
    }
    if (response.status >= 500) {
      let error: unknown = {}
      try {
        error = (response.json() as { error?: unknown } | null)?.error ?? {}
      } catch {}
      attempts.push({ node: candidate.url, error: `${response.status} ${JSON.stringify(error).slice(0, 500)}` })
      continue
    }
    if (!response.ok) {
      // Refused before anything ran: the voucher was not used, its amount goes back to the channel.
      reservation?.release()
      // A refusal must be a typed error body (RESPONSE_INVALID otherwise).
      throw new InferenceRejectedError(candidate.url, response.status, readResponse(response, ErrorBody).error)
    }
    // The answer must match the API's schema (RESPONSE_INVALID naming the field otherwise), then check out.
    const answer = readResponse(response, InferResponse)
    const receipt = receiptFromWire(answer.receipt)
    const signature = answer.signature as Hex
    const tensors = checkAnswer({
      domain: client.domain,
      client: client.account.address,
      request,
      receipt,
      signature,
      outputs: answer.outputs,
      outputCount: model.model.outputs.length,
    })
    // The id is the receipt's hash, whatever the node says it is.
    const inferenceId = hashReceipt(receipt, client.domain)
    if (answer.inferenceId.toLowerCase() !== inferenceId)
      throw new InvalidReceiptError(`the node named the inference ${answer.inferenceId}, its receipt hashes to ${inferenceId}`)
    return {
      inferenceId,
      outputs: outputsToWire(model, tensors),
      receipt,
      signature,
      node: { address: request.node, url: candidate.url },
      request,
      latencyMs: performance.now() - started,
    }
  }
  throw new NoNodeAvailableError(attempts)
}
