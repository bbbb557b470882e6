import { BatchStatus, Role } from '@verity/contracts'
import {
  batchTrustEventOf,
  boundedFetch,
  checkServedReceipt,
  InferenceResponse,
  ProofResponse,
  type Receipt,
  readResponse,
  receiptChainState,
  type TrustEvent,
  type TrustLevel,
  trustOf,
} from '@verity/protocol'
import type { Hex } from 'viem'
import { batchEvents } from './batchEvents.js'
import { chainCache } from './chainCache.js'
import type { VerityClient } from './createVerityClient.js'
import { InvalidReceiptError, SdkError } from './errors.js'

export type GetInferenceParameters = { inferenceId: Hex /** URL of the node that answered. */; node: string }

export type GetInferenceReturnType = {
  inferenceId: Hex
  receipt: Receipt
  signature: Hex
  level: TrustLevel
  attestations: number
  timeline: TrustEvent[]
  batch: { batchId: number; index: number; count: number; root: Hex; proof: Hex[] } | null
  /** The answering node's active stake: what backs this receipt until it is final. */
  stakeAtRisk: bigint
}

/** What a node may answer about one inference: a receipt, a proof (bounded like every served object). */
const SERVED_LIMITS = { timeoutMs: 10_000, maxBytes: 1 << 20 }

/**
 * The trust level and timeline of one inference, checked against the chain: the node provides the
 * receipt and its inclusion proof, and `checkServedReceipt` accepts them only if the receipt hashes
 * to the id asked for, is signed by its node and is proven in the root committed on-chain;
 * everything else — its attestations, challenges and finalization — is read from the contracts,
 * not taken from the node. A node serving anything else gets a `ServedReceiptError`.
 */
export async function getInference(client: VerityClient, parameters: GetInferenceParameters): Promise<GetInferenceReturnType> {
  const { chain, book, contracts } = client
  const base = parameters.node.replace(/\/$/, '')
  const answer = await boundedFetch(`${base}/v1/inferences/${parameters.inferenceId}`, SERVED_LIMITS)
  if (!answer.ok) {
    let error: { code?: unknown; message?: unknown } | undefined
    try {
      error = (answer.json() as { error?: typeof error } | null)?.error
    } catch {}
    throw new SdkError(
      typeof error?.code === 'string' ? error.code.slice(0, 64) : 'INFERENCE_NOT_FOUND',
      typeof error?.message === 'string' ? error.message.slice(0, 300) : `the node answered ${answer.status}`,
      { details: { node: base } },
    )
  }
  // The answer must match the API's schema (RESPONSE_INVALID otherwise); its receipt is then checked, its trust is not taken from it.
  const stored = readResponse(answer, InferenceResponse)
  const served = { inferenceId: parameters.inferenceId, receipt: stored.receipt, signature: stored.signature, domain: client.domain }
  let receipt = checkServedReceipt(served)
  const signature = stored.signature as Hex
  const stakeAtRisk = (await contracts.nodeRegistry.read.getOperator([receipt.node, Role.inference])).staked
  const proofAnswer = await boundedFetch(`${base}/v1/inferences/${parameters.inferenceId}/proof`, SERVED_LIMITS)
  if (proofAnswer.status === 409) {
    const t = trustOf(receiptChainState({ issuedAt: receipt.issuedAt, events: [] }))
    return {
      inferenceId: parameters.inferenceId,
      receipt,
      signature,
      level: t.level,
      attestations: 0,
      timeline: t.timeline,
      batch: null,
      stakeAtRisk,
    }
  }
  if (!proofAnswer.ok) throw new InvalidReceiptError(`the node answered ${proofAnswer.status} for the proof of ${parameters.inferenceId}`)
  const proof = readResponse(proofAnswer, ProofResponse)
  const batchId = BigInt(proof.batchId)
  // The root and count come from the chain, never from the node.
  const batch = await contracts.settlement.read.getBatch([batchId])
  receipt = checkServedReceipt({
    ...served,
    inclusion: { root: batch.root, count: Number(batch.count), index: proof.index, proof: proof.proof },
  })
  const index = proof.index
  // Nothing about the batch precedes its commit: scan from the first block of the commit's second
  // (found once per batch and chain connection by a binary search over block timestamps).
  const cache = chainCache(chain)
  const fromBlock = await cache.commitBlock(`${book.contracts.settlement}:${batchId}`, BigInt(batch.committedAt), book.deployedAtBlock)
  const events = await batchEvents(chain, book, batchId, { fromBlock })
  const logs = [
    ...events.attested,
    ...events.opened,
    ...events.expired,
    ...events.overturned,
    ...events.rejected,
    ...events.redundant,
    ...(batch.status === BatchStatus.finalized ? events.finalized : []),
  ].sort((x, y) => Number(x.blockNumber - y.blockNumber) || x.logIndex - y.logIndex)
  const t = trustOf(
    receiptChainState({
      issuedAt: receipt.issuedAt,
      commit: { batchId: Number(batchId), index, at: Number(batch.committedAt) * 1000 },
      events: await Promise.all(logs.map(async (log) => batchTrustEventOf(log, await cache.blockTimeMs(log.blockNumber))!)),
    }),
  )
  return {
    inferenceId: parameters.inferenceId,
    receipt,
    signature,
    level: t.level,
    attestations: t.attestations,
    timeline: t.timeline,
    batch: { batchId: Number(batchId), index, count: Number(batch.count), root: batch.root, proof: proof.proof as Hex[] },
    stakeAtRisk,
  }
}
