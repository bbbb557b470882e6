import { buildBatchTree, hashReceipt, type Receipt, requestFromWire, settlementAbi } from '@verity/contracts'
import type { Hex } from 'viem'
import type { AttackedNetwork } from './attackedNetwork.js'
import { type Attacker, type AttackReport, chainPast, dataChallengesOf, lastBatchId } from './moneyAttacker.js'

/** replayer: re-commits an honest node's settled batch with ten times its fees and tries to be paid for it. */
export async function replayer(net: AttackedNetwork, attacker: Attacker, steps: AttackReport['steps']): Promise<void> {
  const commits = await net.chain.publicClient.getContractEvents({
    address: net.book.contracts.settlement,
    abi: settlementAbi,
    eventName: 'BatchCommitted',
    args: { node: net.nodes[0]!.node.address },
    fromBlock: net.book.deployedAtBlock,
    strict: true,
  })
  const honest = commits[0]
  if (!honest) {
    steps.push({ tried: 'find an honest batch to replay', outcome: 'none committed yet' })
    return
  }
  const data = (await (await fetch(honest.args.dataURI)).json()) as {
    receipts: { receipt: unknown; request: unknown; clientSignature: Hex }[]
    decoyCommit: Hex
  }
  const replay = await attacker.settlement('commitBatch', [
    honest.args.root,
    honest.args.count,
    honest.args.feeTotal * 10n,
    attacker.nextSequence(),
    honest.args.dataURI,
  ])
  const batchId = await lastBatchId(net)
  steps.push({
    tried: `re-commit honest batch ${honest.args.batchId} (${honest.args.count} receipts) with 10× its fees`,
    outcome: replay.ok ? `committed as batch ${batchId}` : `refused: ${replay.error}`,
  })
  // Verifiers see receipts naming another node and challenge their data; the attacker cannot answer.
  const tree = buildBatchTree(
    data.receipts.map((r) => hashReceipt(receiptFromServed(r.receipt), attacker.domain)),
    data.decoyCommit,
  )
  const started = await net.chain.publicClient.getBlockNumber()
  // Until every receipt of the batch has a data challenge (each verifier checks every receipt's custody).
  const challenged = (await dataChallengesOf(net, batchId, started, honest.args.count)).map((e) => e.args.challengeId)
  steps.push({
    tried: 'wait for verifiers to check the replayed batch',
    outcome: `${challenged.length} data challenge(s) opened against it`,
  })
  const request = requestFromWire(data.receipts[0]!.request)
  const redeem = await attacker.settlement('redeem', [
    request,
    data.receipts[0]!.clientSignature,
    {
      outputHash: receiptFromServed(data.receipts[0]!.receipt).outputHash,
      fee: request.maxFee,
      issuedAt: receiptFromServed(data.receipts[0]!.receipt).issuedAt,
      batchId,
      index: 0,
      proof: tree.proof(0),
    },
  ])
  steps.push({
    tried: "redeem the honest client's voucher through the replayed batch",
    outcome: redeem.ok ? 'REDEEMED' : `refused: ${redeem.error}`,
  })
  for (const challengeId of challenged) {
    const challenge = await net.chain.publicClient.readContract({
      address: net.book.contracts.settlement,
      abi: settlementAbi,
      functionName: 'getChallenge',
      args: [challengeId],
    })
    await chainPast(net, BigInt(challenge.openedAt) + BigInt(net.book.params.dataResponseTime))
    await attacker.settlement('expireChallenge', [challengeId])
  }
  let overturned = 0
  for (let i = 0; i < honest.args.count; i++) {
    const isOverturned = await net.chain.publicClient.readContract({
      address: net.book.contracts.settlement,
      abi: settlementAbi,
      functionName: 'isOverturned',
      args: [batchId, i],
    })
    if (isOverturned) overturned++
  }
  steps.push({
    tried: "let the data challenges run out (the attacker cannot publish a binding for another node's receipts)",
    outcome: `${overturned} of ${honest.args.count} receipts overturned, attacker slashed for each`,
  })
}

function receiptFromServed(value: unknown): Receipt {
  const r = value as Record<string, unknown>
  return { ...(r as unknown as Receipt), fee: BigInt(r.fee as string), issuedAt: BigInt(r.issuedAt as string) }
}
