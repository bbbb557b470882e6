import { Role } from '@verity/contracts'
import { hashReceipt, type Receipt, recoverSigner, verifyBatchProof } from '@verity/protocol'
import type { Hex } from 'viem'
import type { VerityClient } from './createVerityClient.js'

export type VerifyReceiptParameters = { receipt: Receipt; signature: Hex; inclusion?: { batchId: number; index: number; proof: Hex[] } }
export type VerifyReceiptReturnType = {
  signedByNode: boolean
  nodeRegistered: boolean
  /** Whether the node's active stake is at least the minimum now: a node slashed below it backs nothing new. */
  nodeActive: boolean
  included: boolean | null
  problems: string[]
}

/**
 * Checks a receipt from public data alone: the node's EIP-712 signature, that the signer is a
 * registered inference node whose stake is still at least the minimum (a node slashed to zero is
 * reported inactive), and (given its inclusion proof) that the batch committed on-chain
 * contains it — recomputing the root locally and comparing with the contract's.
 */
export async function verifyReceipt(client: VerityClient, parameters: VerifyReceiptParameters): Promise<VerifyReceiptReturnType> {
  const problems: string[] = []
  const signer = recoverSigner(hashReceipt(parameters.receipt, client.domain), parameters.signature)
  const signedByNode = signer?.toLowerCase() === parameters.receipt.node.toLowerCase()
  if (!signedByNode) problems.push(`signature recovers to ${signer ?? 'nothing'}, not ${parameters.receipt.node}`)
  const operator = await client.contracts.nodeRegistry.read.getOperator([parameters.receipt.node, Role.inference])
  const nodeRegistered = operator.id !== 0
  if (!nodeRegistered) problems.push(`${parameters.receipt.node} is not a registered inference node`)
  const nodeActive = nodeRegistered && (await client.contracts.nodeRegistry.read.isActive([parameters.receipt.node, Role.inference]))
  if (nodeRegistered && !nodeActive)
    problems.push(`${parameters.receipt.node} is not active: its stake ${operator.staked} is below the minimum (slashed or unstaked)`)
  let included: boolean | null = null
  if (parameters.inclusion) {
    const batch = await client.contracts.settlement.read.getBatch([BigInt(parameters.inclusion.batchId)])
    included = verifyBatchProof({
      root: batch.root,
      leaf: hashReceipt(parameters.receipt, client.domain),
      index: parameters.inclusion.index,
      count: batch.count,
      proof: parameters.inclusion.proof,
    })
    if (!included) problems.push(`the proof does not place the receipt in batch ${parameters.inclusion.batchId} (root ${batch.root})`)
  }
  return { signedByNode, nodeRegistered, nodeActive, included, problems }
}
