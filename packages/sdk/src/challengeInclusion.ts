import { TxSender } from '@verity/chain'
import type { Receipt } from '@verity/contracts'
import { type Hex, parseEventLogs } from 'viem'
import type { VerityClient } from './createVerityClient.js'

export type ChallengeInclusionParameters = {
  /** A receipt this client holds, answering one of its requests. */
  receipt: Receipt
  /** The node's signature over it (as `infer` returned it). */
  signature: Hex
}

export type ChallengeInclusionReturnType = {
  challengeId: bigint
  /** Chain time (seconds) by which the node must prove the receipt committed (`proveInclusion`). */
  deadline: bigint
  /** The bond locked (`dataChallengeBond`): paid to the node if the receipt stands in a batch, returned otherwise. */
  bond: bigint
}

/**
 * The client's own recourse against a node that never serves its receipt's proof, or withheld the
 * batch it is in (docs/protocol.md, "Life of a batch", inclusion): opens `Settlement.challengeInclusion`
 * with the node-signed receipt. The node must prove the receipt committed by `deadline`. Standing in a
 * batch, the bond pays the node's gas; at an overturned leaf the client is refunded the fee; unproven,
 * anyone's `expireChallenge(challengeId)` after the deadline slashes the node and refunds the client.
 *
 * @example
 * const answer = await infer(client, { modelId, inputs })
 * const { challengeId, deadline } = await challengeInclusion(client, { receipt: answer.receipt, signature: answer.signature })
 */
export async function challengeInclusion(
  client: VerityClient,
  parameters: ChallengeInclusionParameters,
): Promise<ChallengeInclusionReturnType> {
  const sender = new TxSender({ chain: client.chain, account: client.account })
  const { token, settlement } = client.book.contracts
  const bond = await client.contracts.settlement.read.dataChallengeBond()
  const allowance = await client.contracts.token.read.allowance([client.account.address, settlement])
  if (allowance < bond) {
    await sender.write({ address: token, abi: client.contracts.token.abi, functionName: 'approve', args: [settlement, bond] })
  }
  const result = await sender.write({
    address: settlement,
    abi: client.contracts.settlement.abi,
    functionName: 'challengeInclusion',
    args: [parameters.receipt, parameters.signature],
  })
  const [opened] = parseEventLogs({ abi: client.contracts.settlement.abi, eventName: 'InclusionChallenged', logs: result.receipt.logs })
  return { challengeId: opened!.args.challengeId, deadline: opened!.args.deadline, bond }
}
