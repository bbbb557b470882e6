import { type AddressBook, type Chain, type EventFollower, followEvents, memoryCursor } from '@verity/chain'
import { settlementAbi } from '@verity/contracts'
import type { Hex } from 'viem'

export type EscrowBook = {
  /** The client's escrow a node may count on (Settlement.availableEscrow), known locally once read. */
  available(client: Hex): Promise<bigint>
  /** Follows the Settlement events that move escrow from the current head on; until then every call reads the chain. */
  start(): Promise<void>
  stop(): Promise<void>
}

/** Settlement events after which a client's available escrow may differ (the client is `args.client` in each). */
const MOVES_ESCROW = new Set(['Deposited', 'WithdrawalRequested', 'Withdrawn', 'Redeemed'])

/**
 * Clients' available escrow kept in memory: read from the chain once per client, then dropped (and
 * read again on that client's next request) whenever Settlement logs a deposit, a withdrawal or a
 * redemption for it. A request then costs no chain read; what the node counts on lags the chain by
 * at most one poll of the follower (100 ms on the embedded chain, 1 s on RPC), while an announced
 * withdrawal stays debitable for `escrowWithdrawalDelay`.
 */
export function createEscrowBook(parameters: {
  chain: Chain
  book: AddressBook
  log(line: string): void
  /** Clients kept (the least recently read are dropped past it; default 100,000). */
  maxClients?: number
}): EscrowBook {
  const { chain, book } = parameters
  const maxClients = parameters.maxClients ?? 100_000
  const known = new Map<string, bigint>()
  const reading = new Map<string, Promise<bigint>>()
  /** Counts escrow events: a read during which any arrived is used once but not kept. */
  let epoch = 0
  let follower: EventFollower | undefined

  const read = (client: Hex) =>
    chain.publicClient.readContract({
      address: book.contracts.settlement,
      abi: settlementAbi,
      functionName: 'availableEscrow',
      args: [client],
    })

  return {
    async available(client) {
      const key = client.toLowerCase()
      if (!follower) return read(client)
      const value = known.get(key)
      if (value !== undefined) return value
      let pending = reading.get(key)
      if (!pending) {
        const started = epoch
        pending = read(client).finally(() => reading.delete(key))
        reading.set(key, pending)
        pending.then(
          (v) => {
            if (epoch !== started || !follower) return
            known.set(key, v)
            if (known.size > maxClients) known.delete(known.keys().next().value as string)
          },
          () => {},
        )
      }
      return pending
    },
    async start() {
      const head = await chain.publicClient.getBlockNumber()
      follower = followEvents({
        chain,
        abi: settlementAbi,
        address: book.contracts.settlement,
        fromBlock: head,
        cursor: memoryCursor(),
        pollIntervalMs: chain.kind === 'embedded' ? 100 : 1000,
        onError: (error) => parameters.log(`escrow book: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`),
        onLogs(logs) {
          for (const log of logs) {
            if (!MOVES_ESCROW.has(log.eventName)) continue
            const key = ((log.args as { client?: string }).client ?? '').toLowerCase()
            known.delete(key)
            epoch++
          }
        },
      })
      await follower.caughtUp()
    },
    async stop() {
      const f = follower
      follower = undefined
      known.clear()
      await f?.stop()
    },
  }
}
