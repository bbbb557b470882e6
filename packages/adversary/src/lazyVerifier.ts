import { randomBytes } from 'node:crypto'
import { type AddressBook, type Chain, type EventFollower, followEvents, memoryCursor, registerOperator, TxSender } from '@verity/chain'
import { Role, settlementAbi } from '@verity/contracts'
import { assignedLeaves, assignmentAt, bitmapOf } from '@verity/node'
import { TAG_BYTES } from '@verity/protocol'
import { type Hex, toHex } from 'viem'

export type LazyVerifierReport = {
  address: Hex
  /** Batches it attested (its assignment, when not empty) without re-executing anything. */
  attested: number
  /** Times its stake was slashed for an attested decoy, an overturned receipt or a wrong execution tag. */
  slashed: number
  /** Of those, the attestations refuted by a wrong execution tag (`ExecutionTagRefuted`). */
  refuted: number
  /** Stake lost to those slashes. */
  stakeLost: bigint
  /** What finalizations paid it (its `claimable` balance). */
  paid: bigint
  /** paid − stakeLost (gas not counted): what laziness earned. */
  net: bigint
}

/**
 * A lazy verifier (issue 13, "accountable attestations"): a staked verifier, with its own key, that
 * attests its assignment in every batch the moment the batch is committed and never runs a model —
 * the cheapest way to collect verification pay if attesting were not a staked claim. Two things expose
 * it: the execution tags it must send with each receipt, which it can only guess without the
 * outputs (the node refutes a wrong one on-chain; docs/protocol.md, "Execution tags"), and decoys
 * (forced errors) hidden in every batch, slashed once the node reveals them (docs/economics.md).
 */
export async function startLazyVerifier(o: {
  chain: Chain
  book: AddressBook
  key: Hex
  stake?: bigint
  log?(line: string): void
}): Promise<{ stop(): Promise<void>; report(): Promise<LazyVerifierReport> }> {
  const log = o.log ?? (() => {})
  const sender = new TxSender({ chain: o.chain, account: o.key })
  const stake = o.stake ?? o.book.params.minVerifierStake
  await registerOperator(sender, o.book, { role: Role.verifier, endpoint: 'http://127.0.0.1:9/lazy', stake })
  const from = await o.chain.publicClient.getBlockNumber()
  let attested = 0
  const follower: EventFollower = followEvents({
    chain: o.chain,
    abi: settlementAbi,
    address: o.book.contracts.settlement,
    fromBlock: from,
    pollIntervalMs: 100,
    cursor: memoryCursor(),
    async onLogs(logs) {
      for (const event of logs) {
        if (event.eventName !== 'BatchCommitted') continue
        const count = event.args.count
        try {
          // The least it may claim: exactly its assignment (Settlement refuses less), public once the
          // commit is mined — a decoy is in it only as often as decoys are among the leaves.
          const mine = assignedLeaves(
            event.blockHash,
            sender.address,
            event.args.batchId,
            count,
            await assignmentAt(o.chain, o.book, event.args.batchId),
          )
          if (mine.length === 0) continue
          await sender.write({
            address: o.book.contracts.settlement,
            abi: settlementAbi,
            functionName: 'attest',
            // The execution tags it cannot compute without the outputs (which nobody serves it): guessed.
            args: [event.args.batchId, bitmapOf(mine, count), toHex(randomBytes(mine.length * TAG_BYTES))],
          })
          attested++
          log(`lazy verifier: attested the ${mine.length} receipt(s) assigned to it in batch ${event.args.batchId} without running one`)
        } catch (error) {
          log(`lazy verifier: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`)
        }
      }
    },
  })
  return {
    stop: () => follower.stop(),
    async report() {
      const slashes = await o.chain.publicClient.getContractEvents({
        abi: settlementAbi,
        address: o.book.contracts.settlement,
        eventName: 'AttesterSlashed',
        args: { verifier: sender.address },
        fromBlock: from,
        strict: true,
      })
      const stakeLost = slashes.reduce((sum, e) => sum + e.args.slashed, 0n)
      const refutations = await o.chain.publicClient.getContractEvents({
        abi: settlementAbi,
        address: o.book.contracts.settlement,
        eventName: 'ExecutionTagRefuted',
        args: { verifier: sender.address },
        fromBlock: from,
        strict: true,
      })
      const paid = await o.chain.publicClient.readContract({
        address: o.book.contracts.settlement,
        abi: settlementAbi,
        functionName: 'claimable',
        args: [sender.address],
      })
      return {
        address: sender.address,
        attested,
        slashed: slashes.length,
        refuted: refutations.length,
        stakeLost,
        paid,
        net: paid - stakeLost,
      }
    },
  }
}
