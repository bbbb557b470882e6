import { type AddressBook, type Chain, type EventFollower, followEvents, memoryCursor, registerOperator, TxSender } from '@verity/chain'
import { Role, settlementAbi } from '@verity/contracts'
import { bitmapOf } from '@verity/node'
import type { Hex } from 'viem'

export type LazyVerifierReport = {
  address: Hex
  /** Batches it attested without re-executing anything. */
  attested: number
  /** Times its stake was slashed for an attested decoy or overturned receipt. */
  slashed: number
  /** Stake lost to those slashes. */
  stakeLost: bigint
  /** What finalizations paid it (its `claimable` balance). */
  paid: bigint
  /** paid − stakeLost (gas not counted): what laziness earned. */
  net: bigint
}

/**
 * A lazy verifier (issue 13, "accountable attestations"): a staked verifier, with its own key, that
 * attests every receipt of every batch the moment it is committed and never runs a model — the
 * cheapest way to collect verification pay if attesting were not a staked claim. Decoys (forced
 * errors) expose it: every batch hides receipts with wrong outputs, and attesting one is slashed
 * once the node reveals them (docs/economics.md, "Decoys").
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
          await sender.write({
            address: o.book.contracts.settlement,
            abi: settlementAbi,
            functionName: 'attest',
            args: [event.args.batchId, bitmapOf([...Array(count).keys()], count)],
          })
          attested++
          log(`lazy verifier: attested all ${count} receipts of batch ${event.args.batchId} without running one`)
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
      const paid = await o.chain.publicClient.readContract({
        address: o.book.contracts.settlement,
        abi: settlementAbi,
        functionName: 'claimable',
        args: [sender.address],
      })
      return { address: sender.address, attested, slashed: slashes.length, stakeLost, paid, net: paid - stakeLost }
    },
  }
}
