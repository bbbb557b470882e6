import { hashReceipt, type InferenceRequest, type Receipt, signDigest } from '@verity/contracts'
import { tensorsHash } from '@verity/runtime'
import type { Hex } from 'viem'
import type { PrivateKeyAccount } from 'viem/accounts'

export type SignReceiptParameters = {
  request: InferenceRequest
  requestHash: Hex
  inputHash: Hex
  outputs: readonly Int16Array[]
  client: Hex
  fee: bigint
  /** When the node answered, ms since the epoch (the receipt carries whole seconds). */
  nowMs: number
  /** The node's account. */
  account: PrivateKeyAccount
  /** Its private key: signs natively (libsecp256k1) when given, else through the account. */
  key?: Hex
  domain: { chainId: number; settlement: Hex }
}

export type SignReceiptReturnType = { receipt: Receipt; id: Hex; signature: Hex }

/**
 * The node's receipt for one answer: what was asked (request, model, input hashes), what it answered
 * (the outputs' hash), who pays what, when; its id is its EIP-712 hash, signed with the node's key.
 *
 * @example
 * const { receipt, id, signature } = await signReceipt({ request, requestHash, inputHash, outputs, client, fee, nowMs, account, domain })
 */
export async function signReceipt(p: SignReceiptParameters): Promise<SignReceiptReturnType> {
  const receipt: Receipt = {
    requestHash: p.requestHash,
    modelId: p.request.modelId,
    inputHash: p.inputHash,
    outputHash: tensorsHash(p.outputs),
    node: p.account.address,
    client: p.client,
    fee: p.fee,
    issuedAt: BigInt(Math.floor(p.nowMs / 1000)),
    mode: p.request.mode,
  }
  const id = hashReceipt(receipt, p.domain)
  const signature = p.key !== undefined ? signDigest(p.key, id) : await p.account.sign({ hash: id })
  return { receipt, id, signature }
}
