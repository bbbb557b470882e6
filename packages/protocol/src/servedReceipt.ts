import { BaseError } from '@verity/runtime/core'
import { type Address, type Hex, isHex } from 'viem'
import type { Receipt } from './eip712.js'
import { hashReceipt } from './hashing.js'
import { batchRootFromProof } from './receiptTree.js'
import { recoverSigner } from './signatures.js'
import { receiptFromWire } from './wire.js'

/**
 * A receipt a party served for an inference id does not check out: it is another receipt, it is
 * not signed by its node, or it is not where the node says in the committed batch. `code` says which.
 */
export class ServedReceiptError extends BaseError {
  override name = 'ServedReceiptError'
}

/** The served receipt hashes to another id than the one asked for. */
export class ReceiptIdMismatchError extends ServedReceiptError {
  override name = 'ReceiptIdMismatchError'
  constructor(asked: Hex, served: Hex) {
    super('RECEIPT_ID_MISMATCH', `asked for inference ${asked}, the receipt served hashes to ${served}`, { details: { asked, served } })
  }
}

/** The served signature is malformed or does not recover to the receipt's node. */
export class ReceiptSignatureError extends ServedReceiptError {
  override name = 'ReceiptSignatureError'
  constructor(inferenceId: Hex, node: Address, signer: Address | undefined) {
    super('RECEIPT_SIGNATURE_INVALID', `the receipt of ${inferenceId} is not signed by its node ${node}`, {
      details: { inferenceId, node, signer: signer ?? 'no valid signature' },
    })
  }
}

/** The served inclusion proof does not lead from the receipt to the root committed on-chain. */
export class ReceiptNotInBatchError extends ServedReceiptError {
  override name = 'ReceiptNotInBatchError'
  constructor(inferenceId: Hex, committedRoot: Hex, provenRoot: Hex | undefined) {
    super('RECEIPT_NOT_IN_BATCH', `the proof served for ${inferenceId} does not lead to the committed root ${committedRoot}`, {
      details: { inferenceId, committedRoot, provenRoot: provenRoot ?? 'invalid index or proof length' },
    })
  }
}

export type CheckServedReceiptParameters = {
  /** The id the caller asked for (never the one the server says). */
  inferenceId: Hex
  /** The receipt as served (wire form, unchecked). */
  receipt: unknown
  /** The node's signature as served (unchecked). */
  signature: unknown
  domain: { chainId: number; settlement: Address }
  /**
   * For a committed receipt: the batch's `root` and `count` as read from the chain (never from the
   * server), and the `index` and `proof` the server gave.
   */
  inclusion?: { root: Hex; count: number; index: unknown; proof: unknown }
}

/**
 * The one check every client applies to a receipt it is served (SDK, CLI, dashboard, page): the
 * receipt is well formed, hashes to the id asked for, carries its node's valid EIP-712 signature,
 * and — given the committed batch read from chain — the served proof places it in that root.
 * Returns the parsed receipt; throws `WireFormatError` or a `ServedReceiptError` otherwise.
 *
 * @example
 * const batch = await settlement.read.getBatch([batchId])
 * const receipt = checkServedReceipt({ inferenceId, receipt: body.receipt, signature: body.signature, domain,
 *   inclusion: { root: batch.root, count: batch.count, index: proof.index, proof: proof.proof } })
 */
export function checkServedReceipt(parameters: CheckServedReceiptParameters): Receipt {
  const asked = parameters.inferenceId.toLowerCase() as Hex
  const receipt = receiptFromWire(parameters.receipt)
  const served = hashReceipt(receipt, parameters.domain)
  if (served.toLowerCase() !== asked) throw new ReceiptIdMismatchError(asked, served)
  const signature = parameters.signature
  const signer = typeof signature === 'string' && isHex(signature) ? recoverSigner(served, signature) : undefined
  if (signer?.toLowerCase() !== receipt.node.toLowerCase()) throw new ReceiptSignatureError(asked, receipt.node, signer)
  const inclusion = parameters.inclusion
  if (inclusion) {
    const { index, proof } = inclusion
    const wellFormed =
      typeof index === 'number' &&
      Array.isArray(proof) &&
      proof.length <= 64 &&
      proof.every((p) => typeof p === 'string' && isHex(p) && p.length === 66)
    const proven = wellFormed ? batchRootFromProof(served, index, inclusion.count, proof as Hex[]) : undefined
    if (proven === undefined || proven.toLowerCase() !== inclusion.root.toLowerCase())
      throw new ReceiptNotInBatchError(asked, inclusion.root, proven)
  }
  return receipt
}
