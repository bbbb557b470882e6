import { hashRequest, type InferenceRequest, inputsFromWire, recoverSigner } from '@verity/contracts'
import { type LoadedModel, tensorsHash } from '@verity/runtime'
import type { Hex } from 'viem'
import { ApiError, badRequest } from '../errors.js'

export type AuthoriseRequestParameters = {
  request: InferenceRequest
  signature: Hex
  /** The inputs as sent (`{ name: { shape, data } }`), decoded against `model`. */
  inputs: unknown
  /** The model the request names (registered and loaded). */
  model: LoadedModel
  /** The EIP-712 domain: chain id and settlement contract. */
  domain: { chainId: number; settlement: Hex }
}

export type AuthoriseRequestReturnType = {
  requestHash: Hex
  /** The signer of the request, lowercase: the client who pays. */
  client: Hex
  inputs: Int16Array[]
  inputHash: Hex
}

/**
 * Who asks, and for exactly what: the request's EIP-712 hash, the client its signature recovers to,
 * and the inputs decoded for the model and bound to the request (their hash is the signed `inputHash`).
 *
 * @example
 * const { client, inputs, inputHash, requestHash } = authoriseRequest({ request, signature, inputs: wire, model, domain })
 */
export function authoriseRequest(p: AuthoriseRequestParameters): AuthoriseRequestReturnType {
  const requestHash = hashRequest(p.request, p.domain)
  const signer = recoverSigner(requestHash, p.signature)
  if (!signer) throw new ApiError(401, 'BAD_SIGNATURE', 'the signature does not recover to an address over this request')
  const inputs = inputsFromWire(p.model, p.inputs)
  const inputHash = tensorsHash(inputs)
  if (inputHash !== p.request.inputHash)
    throw badRequest('INPUT_HASH_MISMATCH', `the inputs hash to ${inputHash}, the signed request says ${p.request.inputHash}`)
  return { requestHash, client: signer.toLowerCase() as Hex, inputs, inputHash }
}
