import { firstBlockAtOrAfter } from '@verity/chain'
import { BatchStatus, type Receipt, Role, receiptFromWire, type TrustEvent, type TrustLevel, trustOf } from '@verity/contracts'
import type { Hex } from 'viem'
import { batchEvents } from './batchEvents.js'
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

const blockTimes = new Map<bigint, number>()
/** Per batch, a block at or before its commit (bounded: cleared past 10,000 entries). */
const commitBlocks = new Map<string, bigint>()

/**
 * The trust level and timeline of one inference, checked against the chain: the node provides the
 * receipt and its inclusion proof, and everything else — that the batch holds the receipt, its
 * attestations, challenges and finalization — is read from the contracts, not taken from the node.
 */
export async function getInference(client: VerityClient, parameters: GetInferenceParameters): Promise<GetInferenceReturnType> {
  const { chain, book, contracts } = client
  const base = parameters.node.replace(/\/$/, '')
  const answer = await fetch(`${base}/v1/inferences/${parameters.inferenceId}`)
  if (!answer.ok) {
    const body = (await answer.json().catch(() => ({}))) as { error?: { code: string; message: string } }
    throw new SdkError(body.error?.code ?? 'INFERENCE_NOT_FOUND', body.error?.message ?? `the node answered ${answer.status}`, {
      details: { node: base },
    })
  }
  const stored = (await answer.json()) as { receipt: unknown; signature: Hex }
  const receipt = receiptFromWire(stored.receipt)
  const stakeAtRisk = (await contracts.nodeRegistry.read.getOperator([receipt.node, Role.inference])).staked
  const executedAt = Number(receipt.issuedAt) * 1000
  const proofAnswer = await fetch(`${base}/v1/inferences/${parameters.inferenceId}/proof`)
  if (proofAnswer.status === 409) {
    const t = trustOf({ executedAt, attestations: [], challenges: [] })
    return {
      inferenceId: parameters.inferenceId,
      receipt,
      signature: stored.signature,
      level: t.level,
      attestations: 0,
      timeline: t.timeline,
      batch: null,
      stakeAtRisk,
    }
  }
  const proof = (await proofAnswer.json()) as { batchId: number; index: number; count: number; root: Hex; proof: Hex[] }
  const batchId = BigInt(proof.batchId)
  if (!(await contracts.settlement.read.verifyReceipt([batchId, receipt, proof.index, proof.proof]))) {
    throw new InvalidReceiptError(`the node's proof does not place receipt ${parameters.inferenceId} in batch ${proof.batchId} on-chain`, {
      proof,
    })
  }
  const batch = await contracts.settlement.read.getBatch([batchId])
  const timeOf = async (blockNumber: bigint) => {
    let t = blockTimes.get(blockNumber)
    if (t === undefined) {
      t = Number((await chain.publicClient.getBlock({ blockNumber })).timestamp) * 1000
      blockTimes.set(blockNumber, t)
    }
    return t
  }
  // Nothing about the batch precedes its commit: scan from the first block of the commit's second
  // (found once per batch by a binary search over block timestamps).
  const batchKey = `${chain.chainId}:${book.contracts.settlement}:${batchId}`
  let fromBlock = commitBlocks.get(batchKey)
  if (fromBlock === undefined) {
    fromBlock = await firstBlockAtOrAfter(chain, BigInt(batch.committedAt), book.deployedAtBlock)
    if (commitBlocks.size >= 10_000) commitBlocks.clear()
    commitBlocks.set(batchKey, fromBlock)
  }
  const { attested, opened, expired, finalized, overturned, rejected, redundant } = await batchEvents(chain, book, batchId, { fromBlock })
  const closed = new Set([...expired, ...overturned, ...rejected, ...redundant].map((e) => e.args.challengeId))
  const upheld = new Map(overturned.map((e) => [e.args.challengeId, e.blockNumber]))
  const t = trustOf({
    executedAt,
    commit: { batchId: proof.batchId, index: proof.index, at: Number(batch.committedAt) * 1000 },
    attestations: await Promise.all(
      attested.map(async (e) => ({ verifier: e.args.verifier, at: await timeOf(e.blockNumber), bitmap: e.args.bitmap })),
    ),
    challenges: await Promise.all(
      opened.map(async (e) => ({
        index: e.args.receiptIndex,
        at: await timeOf(e.blockNumber),
        open: !closed.has(e.args.challengeId),
        challenger: e.args.challenger,
        ...(upheld.has(e.args.challengeId) ? { upheldAt: await timeOf(upheld.get(e.args.challengeId)!) } : {}),
      })),
    ),
    ...(batch.status === BatchStatus.finalized && finalized[0] ? { finalizedAt: await timeOf(finalized[0].blockNumber) } : {}),
  })
  return {
    inferenceId: parameters.inferenceId,
    receipt,
    signature: stored.signature,
    level: t.level,
    attestations: t.attestations,
    timeline: t.timeline,
    batch: { batchId: proof.batchId, index: proof.index, count: proof.count, root: proof.root, proof: proof.proof },
    stakeAtRisk,
  }
}
