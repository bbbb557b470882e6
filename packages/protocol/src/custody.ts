import type { Address, Hex } from 'viem'
import type { InferenceRequest, Receipt } from './eip712.js'
import { hashReceipt, hashRequest } from './hashing.js'
import { recoverSigner } from './signatures.js'

/**
 * Pure: the first break in a receipt's chain of custody, or undefined when it is whole — the same
 * rules `Settlement.publishData` applies on-chain (docs/protocol.md, "Money"): the node's signature
 * over the receipt, the committer is the receipt's node, the client's signature over the request the
 * receipt answers, and the receipt repeats the request's node, model, input and mode, at a fee within
 * what the client allowed. A verifier challenges the data of a receipt that fails it instead of
 * attesting it; the node then cannot publish a binding that passes, so the receipt is overturned.
 *
 * @example
 * const problem = custodyProblem({ receipt, signature, request, clientSignature, committer, domain })
 * if (problem) await challengeData(...)
 */
export function custodyProblem(parameters: {
  receipt: Receipt
  signature: Hex
  request: InferenceRequest
  clientSignature: Hex
  committer: Address
  domain: { chainId: number; settlement: Address }
}): string | undefined {
  const { receipt, request, committer, domain } = parameters
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()
  if (!same(receipt.node, committer)) return `the receipt names node ${receipt.node}, the batch was committed by ${committer}`
  const nodeSigner = recoverSigner(hashReceipt(receipt, domain), parameters.signature)
  if (!nodeSigner || !same(nodeSigner, receipt.node)) return `the receipt is not signed by its node ${receipt.node}`
  const requestHash = hashRequest(request, domain)
  if (!same(requestHash, receipt.requestHash))
    return `the request served hashes to ${requestHash}, the receipt answers ${receipt.requestHash}`
  const client = recoverSigner(requestHash, parameters.clientSignature)
  if (!client || !same(client, receipt.client)) return `the request is not signed by the receipt's client ${receipt.client}`
  if (!same(request.node, receipt.node)) return `the client addressed node ${request.node}, the receipt is from ${receipt.node}`
  if (!same(request.modelId, receipt.modelId)) return `the client asked for model ${request.modelId}, the receipt names ${receipt.modelId}`
  if (!same(request.inputHash, receipt.inputHash))
    return `the client sent input ${request.inputHash}, the receipt names ${receipt.inputHash}`
  if (request.mode !== receipt.mode) return `the client asked for mode ${request.mode}, the receipt names ${receipt.mode}`
  if (receipt.fee > request.maxFee) return `the receipt's fee ${receipt.fee} is above the ${request.maxFee} the client allowed`
  return undefined
}
