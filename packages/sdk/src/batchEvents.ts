import { type AddressBook, type Chain, scanLogs } from '@verity/chain'
import { settlementAbi } from '@verity/contracts'
import { type Hex, numberToHex, pad, parseEventLogs, toEventSelector } from 'viem'

const selector = (name: string) =>
  toEventSelector(
    settlementAbi.find(
      (item): item is Extract<(typeof settlementAbi)[number], { type: 'event' }> => item.type === 'event' && item.name === name,
    )!,
  )

/** Settlement events indexed by batch id as their first topic, and as their second. */
const FIRST = ['Attested', 'BatchFinalized'] as const
const SECOND = ['ChallengeOpened', 'ChallengeExpired', 'ReceiptOverturned', 'ChallengeRejected', 'ChallengeRedundant'] as const

const FINALIZED = selector('BatchFinalized')

/**
 * Every Settlement event about one batch (attestations, finalization, challenges and their
 * outcomes), two `eth_getLogs` calls per block range — an OR over the events' signatures, filtered
 * on the batch id's topic — rather than one call per event. The span from `fromBlock` (default: the
 * deployment; pass the batch's commit block or an earlier one) to the head is scanned in ranges of
 * at most the chain's `maxBlockRange`, and the scan stops at the batch's finalization: nothing about
 * a batch can follow it (the contract refuses attestations and challenges of a finalized batch, and
 * a batch with an open challenge cannot be finalized).
 */
export async function batchEvents(chain: Chain, book: AddressBook, batchId: bigint, options: { fromBlock?: bigint } = {}) {
  const batch = pad(numberToHex(batchId))
  type RpcLog = { topics: Hex[] }
  const query = (topics: (Hex | Hex[] | null)[], range: { fromBlock: bigint; toBlock: bigint }) =>
    chain.publicClient.request({
      method: 'eth_getLogs',
      params: [
        { address: book.contracts.settlement, fromBlock: numberToHex(range.fromBlock), toBlock: numberToHex(range.toBlock), topics },
      ],
    }) as Promise<RpcLog[]>
  const raw = await scanLogs(chain, {
    fromBlock: options.fromBlock ?? book.deployedAtBlock,
    fetch: async (range) =>
      (await Promise.all([query([FIRST.map(selector), batch], range), query([SECOND.map(selector), null, batch], range)])).flat(),
    done: (found) => found.some((log) => log.topics[0] === FINALIZED),
  })
  const logs = parseEventLogs({ abi: settlementAbi, logs: raw as never, strict: true })
  const of = <N extends (typeof FIRST)[number] | (typeof SECOND)[number]>(name: N) =>
    logs.filter((l): l is Extract<(typeof logs)[number], { eventName: N }> => l.eventName === name)
  return {
    attested: of('Attested'),
    finalized: of('BatchFinalized'),
    opened: of('ChallengeOpened'),
    expired: of('ChallengeExpired'),
    overturned: of('ReceiptOverturned'),
    rejected: of('ChallengeRejected'),
    redundant: of('ChallengeRedundant'),
  }
}
