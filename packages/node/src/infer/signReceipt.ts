import { signDigest } from '@verity/contracts/native'
import { hashReceipt, type InferenceRequest, type Receipt } from '@verity/protocol/core'
import { tensorsHash } from '@verity/runtime'
import type { Address, Hex } from 'viem'

export type SignReceiptParameters = {
  request: InferenceRequest
  requestHash: Hex
  inputHash: Hex
  outputs: readonly Int16Array[]
  client: Hex
  fee: bigint
  /** When the node answered, ms since the epoch (the receipt carries whole seconds). */
  nowMs: number
  /** The node's address and private key (signs with libsecp256k1). */
  node: Address
  key: Hex
  domain: { chainId: number; settlement: Hex }
}

export type SignReceiptReturnType = { receipt: Receipt; id: Hex; signature: Hex }

/**
 * The node's receipt for one answer: what was asked (request, model, input hashes), what it answered
 * (the outputs' hash), who pays what, when; its id is its EIP-712 hash, signed with the node's key.
 *
 * @example
 * const { receipt, id, signature } = signReceipt({ request, requestHash, inputHash, outputs, client, fee, nowMs, node, key, domain })
 */
export function signReceipt(p: SignReceiptParameters): SignReceiptReturnType {
  const receipt: Receipt = {
    requestHash: p.requestHash,
    modelId: p.request.modelId,
    inputHash: p.inputHash,
    outputHash: tensorsHash(p.outputs),
    node: p.node,
    client: p.client,
    fee: p.fee,
    issuedAt: BigInt(Math.floor(p.nowMs / 1000)),
    mode: p.request.mode,
  }
  const id = hashReceipt(receipt, p.domain)
  return { receipt, id, signature: signDigest(p.key, id) }
}
