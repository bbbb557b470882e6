import { disputeGameAbi, nodeRegistryAbi, Role, settlementAbi } from '@verity/contracts'
import type { Address } from 'viem'
import type { Devnet } from '../src/devnet/startDevnet.js'

/** What the devnet's chain says happened: committed batches, overturned and rejected receipts, resolved games. */
export async function settledEvents(net: Devnet) {
  const events = { fromBlock: net.book.deployedAtBlock, strict: true } as const
  const settlement = { ...events, address: net.book.contracts.settlement, abi: settlementAbi } as const
  const [committed, overturned, rejected, resolved] = await Promise.all([
    net.chain.publicClient.getContractEvents({ ...settlement, eventName: 'BatchCommitted' }),
    net.chain.publicClient.getContractEvents({ ...settlement, eventName: 'ReceiptOverturned' }),
    net.chain.publicClient.getContractEvents({ ...settlement, eventName: 'ChallengeRejected' }),
    net.chain.publicClient.getContractEvents({
      ...events,
      address: net.book.contracts.disputeGame,
      abi: disputeGameAbi,
      eventName: 'GameResolved',
    }),
  ])
  return { committed, receipts: committed.reduce((n, e) => n + e.args.count, 0), overturned, rejected, resolved }
}

/** An inference node's active stake. */
export async function stakeOf(net: Devnet, node: Address): Promise<bigint> {
  const op = await net.chain.publicClient.readContract({
    address: net.book.contracts.nodeRegistry,
    abi: nodeRegistryAbi,
    functionName: 'getOperator',
    args: [node, Role.inference],
  })
  return op.staked
}

/** A client's escrow balance. */
export async function escrowOf(net: Devnet, client: Address): Promise<bigint> {
  const escrow = await net.chain.publicClient.readContract({
    address: net.book.contracts.settlement,
    abi: settlementAbi,
    functionName: 'escrowOf',
    args: [client],
  })
  return escrow.balance
}

/** How far a client's vouchers to `node` were redeemed on-chain. */
export async function channelPaid(net: Devnet, client: Address, node: Address): Promise<bigint> {
  return net.chain.publicClient.readContract({
    address: net.book.contracts.settlement,
    abi: settlementAbi,
    functionName: 'channelPaid',
    args: [client, node],
  })
}

/** Fees of overturned receipts owed back to a client on its channel with `node`. */
export async function channelCredit(net: Devnet, client: Address, node: Address): Promise<bigint> {
  return net.chain.publicClient.readContract({
    address: net.book.contracts.settlement,
    abi: settlementAbi,
    functionName: 'channelCredit',
    args: [client, node],
  })
}
