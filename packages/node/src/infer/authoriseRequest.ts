import { hashRequest, type InferenceRequest, recoverSigner } from '@verity/protocol/core'
import type { Hex } from 'viem'
import { ApiError } from '../apiError.js'

export type AuthoriseRequestParameters = {
  request: InferenceRequest
  signature: Hex
  /**
   * The client the body names (`client`, optional): its escrow is checked before any signature
   * work, and `answerRequest` recovers the signature and refuses the request unless it is this
   * client — before the model runs. Without it, the signature is recovered here.
   */
  claimedClient?: Hex | undefined
  /** The EIP-712 domain: chain id and settlement contract. */
  domain: { chainId: number; settlement: Hex }
}

export type AuthoriseRequestReturnType = {
  requestHash: Hex
  /** The client who pays, lowercase: the signer, or the client the body names (then `claimed`). */
  client: Hex
  /** `client` is what the body says, not yet checked against the signature (`answerRequest` does, before the run). */
  claimed: boolean
}

/**
 * Who asks: the request's EIP-712 hash and the client who pays — the address its signature
 * recovers to, or, when the body names its client, that client, to be confirmed by the signature
 * where the rest of the request's work runs (a worker thread): the event loop then prices the
 * request without spending ~0.1 ms of libsecp256k1 on it.
 *
 * @example
 * const { requestHash, client, claimed } = authoriseRequest({ request, signature, claimedClient, domain })
 */
export function authoriseRequest(p: AuthoriseRequestParameters): AuthoriseRequestReturnType {
  const requestHash = hashRequest(p.request, p.domain)
  if (p.claimedClient !== undefined) return { requestHash, client: p.claimedClient.toLowerCase() as Hex, claimed: true }
  return { requestHash, client: signerOf(requestHash, p.signature), claimed: false }
}

/** The lowercase address `signature` recovers to over `requestHash`; 401 BAD_SIGNATURE when none. */
export function signerOf(requestHash: Hex, signature: Hex): Hex {
  const signer = recoverSigner(requestHash, signature)
  if (!signer) throw new ApiError(401, 'BAD_SIGNATURE', 'the signature does not recover to an address over this request')
  return signer.toLowerCase() as Hex
}
