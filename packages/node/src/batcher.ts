import { type AddressBook, type Chain, ContractRevertError, scanLogs, type TxSender } from '@verity/chain'
import { buildReceiptTree, settlementAbi } from '@verity/contracts'
import { type Address, type Hex, parseEventLogs } from 'viem'
import type { ReceiptStore, StoredBatch, StoredInference } from './receiptStore.js'

export type BatchDecision = { action: 'commit'; size: number } | { action: 'wait' }

/** Pure: commit when `maxSize` receipts wait, or when the oldest has waited `maxAgeMs`. */
export function decideBatch(state: {
  unbatched: number
  oldestAgeMs: number | undefined
  maxSize: number
  maxAgeMs: number
}): BatchDecision {
  if (state.unbatched >= state.maxSize) return { action: 'commit', size: state.maxSize }
  if (state.unbatched > 0 && (state.oldestAgeMs ?? 0) >= state.maxAgeMs) return { action: 'commit', size: state.unbatched }
  return { action: 'wait' }
}

/** Pure: one debit per client, sorted by address, as Settlement.commitBatch requires. */
export function debitsOf(inferences: readonly Pick<StoredInference, 'client' | 'fee'>[]): { client: Address; amount: bigint }[] {
  const perClient = new Map<string, bigint>()
  for (const i of inferences) perClient.set(i.client.toLowerCase(), (perClient.get(i.client.toLowerCase()) ?? 0n) + BigInt(i.fee))
  return [...perClient]
    .map(([client, amount]) => ({ client: client as Address, amount }))
    .sort((a, b) => (BigInt(a.client) < BigInt(b.client) ? -1 : 1))
}

/** Pure: settle a committed, unchallenged batch once its window has passed (by wall clock, with a margin). */
export function decideFinalize(batch: Pick<StoredBatch, 'status' | 'committedAt'>, nowMs: number, challengeWindow: number): boolean {
  return batch.status === 'committed' && batch.committedAt !== null && nowMs >= (batch.committedAt + challengeWindow + 1) * 1000
}

export type BatcherOptions = {
  chain: Chain
  book: AddressBook
  store: ReceiptStore
  sender: TxSender
  /** Where verifiers fetch a batch's receipts: `${publicUrl}/v1/batches/${root}`. */
  dataUrlOf(root: Hex): string
  maxSize: number
  maxAgeMs: number
  finalize: boolean
  log(line: string): void
  onCommitted?(batch: StoredBatch, gasUsed: bigint): void
  onFinalized?(batchId: number, gasUsed: bigint): void
}

/**
 * Commits batches of stored receipts and settles them. Every step is re-derived from the store and
 * the chain, so a restart (even after kill -9) picks up where the process stopped: a batch created
 * but not known to be committed is looked up on-chain by its root before it is ever sent again.
 */
export class Batcher {
  private running = false
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly o: BatcherOptions) {}

  start(intervalMs = 100): void {
    const loop = async () => {
      await this.tick(Date.now()).catch((error) =>
        this.o.log(`batcher: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`),
      )
      if (this.timer !== undefined) this.timer = setTimeout(loop, intervalMs)
    }
    this.timer = setTimeout(loop, 0)
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    while (this.running) await new Promise((r) => setTimeout(r, 10))
  }

  /** One pass: finish pending commits, commit what is due, settle what is final. Single-flight. */
  async tick(nowMs: number): Promise<void> {
    if (this.running) return
    this.running = true
    try {
      // A batch left pending by an earlier pass or process may have reached the chain: look it up first.
      for (const batch of this.o.store.batchesWithStatus('pending')) await this.commitPending(batch, true)
      for (;;) {
        const decision = decideBatch({
          unbatched: this.o.store.counts().unbatched,
          oldestAgeMs: ((oldest) => (oldest === undefined ? undefined : nowMs - oldest))(this.o.store.oldestUnbatchedMs()),
          maxSize: this.o.maxSize,
          maxAgeMs: this.o.maxAgeMs,
        })
        if (decision.action === 'wait') break
        const inferences = this.o.store.unbatched(decision.size)
        const tree = buildReceiptTree(inferences.map((i) => i.id))
        const feeTotal = inferences.reduce((sum, i) => sum + BigInt(i.fee), 0n)
        await this.commitPending(this.o.store.createBatch(tree.root, inferences, feeTotal, nowMs), false)
      }
      if (this.o.finalize) {
        const due = this.o.store.batchesWithStatus('committed')
        if (due.length > 0) {
          // Chain time can run ahead of the wall clock (dev chains mine a second per block): use the later.
          const latest = Number((await this.o.chain.publicClient.getBlock({ blockTag: 'latest' })).timestamp) * 1000
          const now = Math.max(Date.now(), latest)
          for (const batch of due) if (decideFinalize(batch, now, this.o.book.params.challengeWindow)) await this.finalize(batch)
        }
      }
    } finally {
      this.running = false
    }
  }

  private async commitPending(batch: StoredBatch, mayBeOnChain: boolean): Promise<void> {
    const { store, book, chain, sender } = this.o
    if (mayBeOnChain) {
      const isThisBatch = (log: { args: { root: Hex } }) => log.args.root.toLowerCase() === batch.root.toLowerCase()
      const existing = await scanLogs(chain, {
        fromBlock: book.deployedAtBlock,
        fetch: (range) =>
          chain.publicClient.getContractEvents({
            abi: settlementAbi,
            address: book.contracts.settlement,
            eventName: 'BatchCommitted',
            args: { node: sender.address },
            ...range,
            strict: true,
          }),
        done: (found) => found.some(isThisBatch),
      })
      const found = existing.find(isThisBatch)
      if (found) {
        const block = await chain.publicClient.getBlock({ blockNumber: found.blockNumber })
        store.markCommitted(batch.localId, Number(found.args.batchId), Number(block.timestamp), Number(found.blockNumber))
        return
      }
    }
    const inferences = store.batchInferences(batch.localId)
    const result = await sender.write({
      address: book.contracts.settlement,
      abi: settlementAbi,
      functionName: 'commitBatch',
      args: [batch.root, batch.count, BigInt(batch.feeTotal), this.o.dataUrlOf(batch.root), debitsOf(inferences)],
    })
    const [event] = parseEventLogs({ abi: settlementAbi, eventName: 'BatchCommitted', logs: result.receipt.logs })
    if (!event) throw new Error(`commit transaction ${result.hash} has no BatchCommitted event`)
    const block = await chain.publicClient.getBlock({ blockNumber: result.receipt.blockNumber })
    store.markCommitted(batch.localId, Number(event.args.batchId), Number(block.timestamp), Number(result.receipt.blockNumber))
    this.o.log(`committed batch ${event.args.batchId}: ${batch.count} receipts, root ${batch.root.slice(0, 10)}…, ${result.gasUsed} gas`)
    this.o.onCommitted?.(store.batchByLocal(batch.localId)!, result.gasUsed)
  }

  private async finalize(batch: StoredBatch): Promise<void> {
    const { store, book, sender } = this.o
    const batchId = batch.batchId!
    const attesters = [
      ...new Set(
        store
          .batchEvents(batchId)
          .filter((e) => e.kind === 'attested')
          .map((e) => e.actor.toLowerCase()),
      ),
    ].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1)) as Address[]
    try {
      const result = await sender.write({
        address: book.contracts.settlement,
        abi: settlementAbi,
        functionName: 'finalize',
        args: [BigInt(batchId), attesters],
      })
      store.setStatus(
        batchId,
        'finalized',
        Number((await this.o.chain.publicClient.getBlock({ blockNumber: result.receipt.blockNumber })).timestamp),
      )
      this.o.log(`finalized batch ${batchId} (${attesters.length} attester(s)), ${result.gasUsed} gas`)
      this.o.onFinalized?.(batchId, result.gasUsed)
    } catch (error) {
      if (error instanceof ContractRevertError && error.errorName === 'BatchAlreadyFinalized') store.setStatus(batchId, 'finalized')
      else if (
        error instanceof ContractRevertError &&
        ['ChallengeWindowOpen', 'BatchFrozen', 'AttestersMismatch'].includes(error.errorName)
      ) {
        // Not yet: the window is still open on-chain, a challenge froze the batch, or an attestation is not recorded yet.
      } else throw error
    }
  }
}
