import {
  type BoundedResponse,
  boundedFetch,
  eip712Types,
  encodeMode,
  fetchJson,
  type InferenceRequest,
  inputsToWire,
  type Receipt,
  receiptFromWire,
  requestToWire,
  type VerificationMode,
  verityDomain,
} from '@verity/contracts'
import { quantizeInputs, type TensorInput, tensorsHash } from '@verity/runtime'
import type { Address, Hex } from 'viem'
import { reserveOnChannel } from './channel.js'
import { checkAnswer } from './checkAnswer.js'
import type { ModelLoaderErrorType } from './createModelLoader.js'
import type { VerityClient } from './createVerityClient.js'
import { discoverNodes } from './discoverNodes.js'
import { InferenceRejectedError, type InvalidReceiptError, NoNodeAvailableError } from './errors.js'

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

export type InferOutput = { shape: number[]; scale: number; raw: number[]; values: number[] }

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

export type InferErrorType = NoNodeAvailableError | InferenceRejectedError | InvalidReceiptError | ModelLoaderErrorType

/** A node's answer to a request is small (a receipt, the outputs): bounded like any served object. */
const NODE_ANSWER_LIMITS = { timeoutMs: 120_000, maxBytes: 8 * 1024 * 1024 }

const addresses = new Map<string, { node: Address; price?: bigint }>()

async function candidates(client: VerityClient, preferred?: string): Promise<{ url: string; address?: Address }[]> {
  const list = client.nodes
    ? client.nodes.map((url) => ({ url }))
    : (await discoverNodes(client)).map((n) => ({ url: n.url, address: n.address }))
  const start = Math.floor(Math.random() * Math.max(1, list.length))
  const rotated = [...list.slice(start), ...list.slice(0, start)]
  if (preferred) return [{ url: preferred }, ...rotated.filter((n) => n.url !== preferred)]
  return rotated
}

/** The node's address and advertised price, from its `/healthz` (cached per URL). */
async function nodeInfo(url: string): Promise<{ node: Address; price?: bigint }> {
  let info = addresses.get(url)
  if (!info) {
    const health = (await fetchJson(`${url}/healthz`, { timeoutMs: 10_000, maxBytes: 1 << 20 })) as { node: Address; price?: string }
    info = {
      node: health.node,
      ...(typeof health.price === 'string' && /^\d{1,39}$/.test(health.price) ? { price: BigInt(health.price) } : {}),
    }
    addresses.set(url, info)
  }
  return info
}

/**
 * Asks a node for an inference: quantizes the inputs, signs the request (EIP-712, authorizing the
 * fee), sends it, and checks the answer — the node's signature on the receipt, every receipt field
 * against the request, and the outputs against the receipt's output hash. Nodes come from the
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
      const info = await nodeInfo(candidate.url)
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
        body: JSON.stringify({ request: requestToWire(request), signature, inputs: body }),
      })
    } catch (error) {
      attempts.push({ node: candidate.url, error: (error as Error).message })
      continue
    }
    let answer: Record<string, unknown> = {}
    try {
      answer = response.json() as Record<string, unknown>
    } catch {}
    if (response.status >= 500) {
      attempts.push({ node: candidate.url, error: `${response.status} ${JSON.stringify(answer.error ?? {})}` })
      continue
    }
    if (!response.ok) {
      // Refused before anything ran: the voucher was not used, its amount goes back to the channel.
      reservation?.release()
      throw new InferenceRejectedError(candidate.url, response.status, answer.error as { code: string; message: string })
    }
    const receipt = receiptFromWire(answer.receipt)
    const signature = answer.signature as Hex
    checkAnswer({
      domain: client.domain,
      client: client.account.address,
      request,
      receipt,
      signature,
      outputs: answer.outputs as Record<string, InferOutput>,
      outputCount: model.model.outputs.length,
    })
    return {
      inferenceId: answer.inferenceId as Hex,
      outputs: answer.outputs as Record<string, InferOutput>,
      receipt,
      signature,
      node: { address: request.node, url: candidate.url },
      request,
      latencyMs: performance.now() - started,
    }
  }
  throw new NoNodeAvailableError(attempts)
}
