import { type InferenceRequest, inputsToWire, type Receipt, receiptToWire, requestToWire } from '@verity/contracts'
import type { LoadedModel } from '@verity/runtime'
import type { Hex } from 'viem'
import type { ReceiptSink } from '../receiptSink.js'
import type { ReceiptStore } from '../receiptStore.js'
import { outputsJson } from './outputsJson.js'
import { checkSpendable } from './priceRequest.js'

export type StoreInferenceParameters = {
  store: ReceiptStore
  /** Group commit: when given, the receipt goes in the writer's next transaction (with others), re-checked there. */
  writer?: ReceiptSink
  model: LoadedModel
  request: InferenceRequest
  /** The client's signature over the request (its voucher for `channelTotal`). */
  clientSignature: Hex
  inputs: readonly Int16Array[]
  outputs: readonly Int16Array[]
  receipt: Receipt
  id: Hex
  signature: Hex
  /** The client's escrow as read before the run: checked again against the fees stored meanwhile. */
  escrow: bigint
  executedAtMs: number
  computeMs: number
}

/**
 * The last step before the answer: the receipt, the request and its inputs and outputs written to
 * the store in one transaction (the node acknowledges only what survives a crash). Escrow and
 * vouchers are checked again against what was stored while this request ran; a refusal stores
 * nothing. Returns the answer's body.
 *
 * @example
 * const body = storeInference({ store, model, request, clientSignature, inputs, outputs, receipt, id, signature, escrow, executedAtMs, computeMs })
 */
export async function storeInference(p: StoreInferenceParameters): Promise<string> {
  const { receipt, request } = p
  const outputs = outputsJson(p.model, p.outputs)
  const receiptJson = JSON.stringify(receiptToWire(receipt))
  const row = {
    id: p.id,
    requestHash: receipt.requestHash,
    client: receipt.client,
    nonce: request.nonce.toString(),
    modelId: request.modelId,
    inputHash: receipt.inputHash,
    outputHash: receipt.outputHash,
    fee: receipt.fee.toString(),
    channelTotal: request.channelTotal.toString(),
    mode: request.mode,
    issuedAt: Number(receipt.issuedAt),
    executedAtMs: p.executedAtMs,
    receiptJson,
    signature: p.signature,
    requestJson: JSON.stringify(requestToWire(request)),
    clientSignature: p.clientSignature,
    outputsJson: outputs,
    computeMs: p.computeMs,
  }
  const inputBody = JSON.stringify(inputsToWire(p.model, p.inputs))
  if (p.writer) {
    // The answer leaves once the transaction holding its receipt is on disk; the escrow is re-checked inside it.
    await p.writer.insert(row, inputBody, p.escrow)
  } else {
    p.store.insertInference(row, inputBody, (channel) => checkSpendable(receipt.client, p.escrow, receipt.fee, channel))
  }
  return `{"inferenceId":"${p.id}","receipt":${receiptJson},"signature":"${p.signature}","outputs":${outputs}}`
}
