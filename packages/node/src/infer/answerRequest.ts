import {
  type InferenceRequest,
  inputsJson,
  type OutputEncoding,
  outputsJson,
  type Receipt,
  receiptToWire,
  requestToWire,
} from '@verity/protocol/core'
import type { LoadedModel } from '@verity/runtime'
import type { Address, Hex } from 'viem'
import { ApiError } from '../apiError.js'
import { signerOf } from './authoriseRequest.js'
import { bindInputs } from './bindInputs.js'
import { type Executor, executeRequest } from './executeRequest.js'
import { signReceipt } from './signReceipt.js'

/** A request as the event loop hands it on once it is parsed, authorised and priced. */
export type AnswerJob = {
  request: InferenceRequest
  requestHash: Hex
  /** The client's signature over the request. */
  signature: Hex
  /** The client it was priced for (lowercase). */
  client: Hex
  /** `client` is the one the body named: the signature must recover to it (checked here, before the run). */
  claimed: boolean
  /** The inputs as sent, decoded for the model (`inputsFromWire`; not yet checked against the signed hash). */
  inputs: Int16Array[]
  fee: bigint
  /** When the node answers, ms since the epoch. */
  nowMs: number
  /** Whether the answer carries each output's `values` (raw · scale) beside `raw` (the body's `values`, default true). */
  values?: boolean | undefined
  /** How the answer writes each output's `raw` (the body's `encoding`, default json). */
  encoding?: OutputEncoding | undefined
}

export type AnswerContext = {
  model: LoadedModel
  /** The node's address and private key. */
  node: Address
  key: Hex
  domain: { chainId: number; settlement: Hex }
  /** Runs the model (default: the integer runtime). */
  executor?: Executor | undefined
}

/** Everything the answer and its stored row need, as strings where they are stored or sent. */
export type Answer = {
  id: Hex
  signature: Hex
  receipt: Receipt
  inputHash: Hex
  receiptJson: string
  requestJson: string
  /** The outputs as stored: names, shapes, scales and `raw` in base64, without `values` (raw · scale, derived). */
  outputsJson: string
  /** The inputs as stored and served to verifiers (`/v1/data`). */
  inputBody: string
  computeMs: number
  /** The answer's body: `{ inferenceId, receipt, signature, outputs }`, the outputs with `values` unless the client asked for none, `raw` as it asked. */
  body: string
}

/**
 * The work of one request between its price check and its storage, with no I/O, the same in a
 * worker thread (`runPool`) as on the event loop: the signature confirmed for a client the body
 * named (401 BAD_SIGNATURE when it is someone else's), the inputs bound to the signed input hash
 * (400 INPUT_HASH_MISMATCH), the model run, the receipt signed, and the JSON the node stores and
 * answers. Every refusal comes before the run.
 *
 * @example
 * const answer = answerRequest({ request, requestHash, signature, client, claimed, inputs, fee, nowMs }, { model, node, key, domain })
 */
export function answerRequest(job: AnswerJob, context: AnswerContext): Answer {
  if (job.claimed) {
    const signer = signerOf(job.requestHash, job.signature)
    if (signer !== job.client)
      throw new ApiError(401, 'BAD_SIGNATURE', `the signature recovers to ${signer}, the body names the client ${job.client}`)
  }
  const { model } = context
  const { inputs } = job
  const inputHash = bindInputs({ request: job.request, inputs })
  const { outputs, computeMs } = executeRequest({ model, inputs, inputHash, executor: context.executor })
  const { receipt, id, signature } = signReceipt({
    request: job.request,
    requestHash: job.requestHash,
    inputHash,
    outputs,
    client: job.client,
    fee: job.fee,
    nowMs: job.nowMs,
    node: context.node,
    key: context.key,
    domain: context.domain,
  })
  const receiptJson = JSON.stringify(receiptToWire(receipt))
  // Stored in base64: a language model's logits in a third of the bytes of decimals, and written natively.
  const stored = outputsJson(model, outputs, { values: false, encoding: 'base64' })
  const encoding = job.encoding ?? 'json'
  const answered =
    job.values === false && encoding === 'base64' ? stored : outputsJson(model, outputs, { values: job.values !== false, encoding })
  return {
    id,
    signature,
    receipt,
    inputHash,
    receiptJson,
    requestJson: JSON.stringify(requestToWire(job.request)),
    outputsJson: stored,
    inputBody: inputsJson(model, inputs),
    computeMs,
    body: `{"inferenceId":"${id}","receipt":${receiptJson},"signature":"${signature}","outputs":${answered}}`,
  }
}
