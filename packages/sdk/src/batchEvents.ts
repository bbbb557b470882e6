import type { AddressBook, Chain } from '@verity/chain'
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

/**
 * Every Settlement event about one batch (attestations, finalization, challenges and their
 * outcomes) in two `eth_getLogs` calls — an OR over the events' signatures, filtered on the batch
 * id's topic — rather than one call per event.
 */
export async function batchEvents(chain: Chain, book: AddressBook, batchId: bigint) {
  const batch = pad(numberToHex(batchId))
  const query = (topics: (Hex | Hex[] | null)[]) =>
    chain.publicClient.request({
      method: 'eth_getLogs',
      params: [{ address: book.contracts.settlement, fromBlock: numberToHex(book.deployedAtBlock), toBlock: 'latest', topics }],
    })
  const [first, second] = await Promise.all([query([FIRST.map(selector), batch]), query([SECOND.map(selector), null, batch])])
  const logs = parseEventLogs({ abi: settlementAbi, logs: [...first, ...second] as never, strict: true })
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
