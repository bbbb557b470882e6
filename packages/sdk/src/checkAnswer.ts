import { hashReceipt, hashRequest, type InferenceRequest, type Receipt, rawFromWire, recoverSigner } from '@verity/contracts'
import { tensorsHash } from '@verity/runtime'
import type { Address, Hex } from 'viem'
import { InvalidReceiptError } from './errors.js'

export type CheckAnswerParameters = {
  domain: { chainId: number; settlement: Address }
  /** The client that signed the request. */
  client: Address
  request: InferenceRequest
  receipt: Receipt
  signature: Hex
  /** Each output's `raw`: an array of int16 integers or their base64 (the body's `encoding`). */
  outputs: Record<string, { raw: number[] | string }>
  /** How many outputs the model has. */
  outputCount: number
}

export type CheckAnswerErrorType = InvalidReceiptError

/**
 * Checks a node's answer to a request: the receipt is signed by the node the request named, every
 * receipt field matches the request, the fee is within what was signed, and the outputs hash to
 * the receipt's output hash. Returns the checked output tensors, in the answer's order (the order
 * the hash commits to); throws InvalidReceiptError naming what does not hold.
 *
 * @example
 * checkAnswer({ domain: client.domain, client: client.account.address, request, receipt, signature, outputs, outputCount: 1 })
 */
export function checkAnswer(parameters: CheckAnswerParameters): Int16Array[] {
  const { request, receipt, signature, outputs } = parameters
  const signer = recoverSigner(hashReceipt(receipt, parameters.domain), signature)
  if (signer?.toLowerCase() !== request.node.toLowerCase())
    throw new InvalidReceiptError(`the receipt is not signed by ${request.node}`, { signer })
  const expected = {
    requestHash: hashRequest(request, parameters.domain),
    modelId: request.modelId,
    inputHash: request.inputHash,
    client: parameters.client.toLowerCase(),
    mode: request.mode,
  }
  for (const [field, value] of Object.entries(expected)) {
    const found = String(receipt[field as keyof Receipt]).toLowerCase()
    if (found !== String(value).toLowerCase()) throw new InvalidReceiptError(`receipt.${field} is ${found}, expected ${value}`)
  }
  if (receipt.fee > request.maxFee) throw new InvalidReceiptError(`receipt.fee ${receipt.fee} exceeds the authorized ${request.maxFee}`)
  const given = Object.values(outputs)
  if (given.length !== parameters.outputCount)
    throw new InvalidReceiptError(`the answer has ${given.length} outputs, the model ${parameters.outputCount}`, {
      outputHash: receipt.outputHash,
    })
  let tensors: Int16Array[]
  try {
    // Named by position: the names are the node's own (not committed to), and a message must stay bounded.
    tensors = given.map((o, i) => rawFromWire(o.raw, `outputs[${i}].raw`))
  } catch (error) {
    throw new InvalidReceiptError(`the outputs cannot be read: ${(error as Error).message}`, { outputHash: receipt.outputHash })
  }
  if (tensorsHash(tensors) !== receipt.outputHash) {
    throw new InvalidReceiptError('the outputs do not hash to the receipt’s outputHash', { outputHash: receipt.outputHash })
  }
  return tensors
}
