import type { InferenceRequest } from '@verity/protocol/core'
import type { Hex } from 'viem'
import type { ReceiptSink } from '../receiptSink.js'
import type { ReceiptStore } from '../receiptStore.js'
import type { Answer } from './answerRequest.js'
import { checkSpendable } from './priceRequest.js'

export type StoreInferenceParameters = {
  store: ReceiptStore
  /** Group commit: when given, the receipt goes in the writer's next transaction (with others), re-checked there. */
  writer?: ReceiptSink
  request: InferenceRequest
  /** The client's signature over the request (its voucher for `channelTotal`). */
  clientSignature: Hex
  /** The answer computed for it (`answerRequest`). */
  answer: Answer
  /** The client's escrow as read before the run: checked again against the fees stored meanwhile. */
  escrow: bigint
  executedAtMs: number
}

/**
 * The last step before the answer: the receipt, the request and its inputs and outputs written to
 * the store in one transaction (the node acknowledges only what survives a crash). Escrow and
 * vouchers are checked again against what was stored while this request ran; a refusal stores
 * nothing. Resolves once the receipt is durable.
 *
 * @example
 * await storeInference({ store, writer, request, clientSignature, answer, escrow, executedAtMs })
 */
export async function storeInference(p: StoreInferenceParameters): Promise<void> {
  const { request, answer } = p
  const { receipt } = answer
  const row = {
    id: answer.id,
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
    receiptJson: answer.receiptJson,
    signature: answer.signature,
    requestJson: answer.requestJson,
    clientSignature: p.clientSignature,
    outputsJson: answer.outputsJson,
    computeMs: answer.computeMs,
  }
  if (p.writer) {
    // The answer leaves once the transaction holding its receipt is on disk; the escrow is re-checked inside it.
    await p.writer.insert(row, answer.inputBody, p.escrow)
  } else {
    p.store.insertInference(row, answer.inputBody, (channel) => checkSpendable(receipt.client, p.escrow, receipt.fee, channel))
  }
}
