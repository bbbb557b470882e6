import { type AddressBook, type Chain, type EventFollower, followEvents } from '@verity/chain'
import { settlementAbi } from '@verity/contracts'
import type { Address } from 'viem'
import type { BatchEvent, ReceiptStore } from './receiptStore.js'

/**
 * Follows Settlement events into the node's store: commits of its batches, attestations,
 * challenges and finalization. The cursor lives in the same SQLite database, and recording an event
 * twice is a no-op, so a restart resumes without losing or doubling anything.
 */
/** Batch events that close a challenge. */
const CLOSING: readonly string[] = ['expired', 'overturned', 'rejected', 'redundant']

export function watchOwnBatches(parameters: {
  chain: Chain
  book: AddressBook
  store: ReceiptStore
  node: Address
  log(line: string): void
  /** Called once per newly recorded event (not again for a log delivered twice). */
  onRecorded?(event: BatchEvent): void
}): EventFollower {
  const { chain, book, store } = parameters
  const record = (event: BatchEvent) => {
    if (store.recordEvent(event)) parameters.onRecorded?.(event)
  }
  const blockTimes = new Map<bigint, number>()
  const timeOf = async (blockNumber: bigint) => {
    let t = blockTimes.get(blockNumber)
    if (t === undefined) {
      t = Number((await chain.publicClient.getBlock({ blockNumber })).timestamp)
      blockTimes.set(blockNumber, t)
      if (blockTimes.size > 1000) blockTimes.delete(blockTimes.keys().next().value as bigint)
    }
    return t
  }
  return followEvents({
    chain,
    abi: settlementAbi,
    address: book.contracts.settlement,
    fromBlock: book.deployedAtBlock,
    pollIntervalMs: chain.kind === 'embedded' ? 100 : 1000,
    cursor: {
      load: () => ((v) => (v === undefined ? undefined : BigInt(v)))(store.getMeta('settlement_cursor')),
      save: (block) => store.setMeta('settlement_cursor', block.toString()),
    },
    onError: (error) => parameters.log(`chain watcher: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`),
    async onLogs(logs) {
      for (const log of logs) {
        const at = await timeOf(log.blockNumber)
        const where = { block: Number(log.blockNumber), logIndex: log.logIndex }
        switch (log.eventName) {
          case 'BatchCommitted': {
            if (log.args.node.toLowerCase() !== parameters.node.toLowerCase()) break
            const batch = store.batchByRoot(log.args.root)
            if (batch && batch.batchId === null) store.markCommitted(batch.localId, Number(log.args.batchId), at, where.block)
            break
          }
          case 'Attested': {
            const batchId = Number(log.args.batchId)
            if (!store.batchById(batchId)) break
            record({
              batchId,
              kind: 'attested',
              actor: log.args.verifier,
              data: { receipts: log.args.receipts, bitmap: log.args.bitmap.map(String), tags: log.args.tags, paid: log.args.paid },
              at,
              ...where,
            })
            break
          }
          case 'ChallengeOpened': {
            const batchId = Number(log.args.batchId)
            if (!store.batchById(batchId)) break
            record({
              batchId,
              kind: 'challenged',
              actor: log.args.challenger,
              data: { challengeId: String(log.args.challengeId), index: log.args.receiptIndex },
              at,
              ...where,
            })
            store.setStatus(batchId, 'challenged')
            break
          }
          case 'ChallengeExpired':
          case 'ReceiptOverturned':
          case 'ChallengeRejected':
          case 'ChallengeRedundant': {
            const batchId = Number(log.args.batchId)
            if (!store.batchById(batchId)) break
            const kind =
              log.eventName === 'ChallengeExpired'
                ? 'expired'
                : log.eventName === 'ReceiptOverturned'
                  ? 'overturned'
                  : log.eventName === 'ChallengeRedundant'
                    ? 'redundant'
                    : 'rejected'
            record({ batchId, kind, actor: '', data: { challengeId: String(log.args.challengeId) }, at, ...where })
            const events = store.batchEvents(batchId)
            const closed = new Set(
              events.filter((e) => CLOSING.includes(e.kind)).map((e) => (e.data as { challengeId: string }).challengeId),
            )
            const open = events.filter((e) => e.kind === 'challenged' && !closed.has((e.data as { challengeId: string }).challengeId))
            if (open.length === 0) store.setStatus(batchId, 'committed')
            break
          }
          case 'BatchFinalized': {
            const batchId = Number(log.args.batchId)
            if (!store.batchById(batchId)) break
            record({
              batchId,
              kind: 'finalized',
              actor: log.args.node,
              data: { nodeAmount: String(log.args.nodeAmount), verifierAmount: String(log.args.verifierAmount) },
              at,
              ...where,
            })
            store.setStatus(batchId, 'finalized', at)
            break
          }
          default:
            break
        }
      }
    },
  })
}
