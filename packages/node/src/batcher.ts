import { type AddressBook, type Chain, ContractRevertError, scanLogs, type TxSender } from '@verity/chain'
import { buildReceiptTree, nodeRegistryAbi, Role, requestFromWire, settlementAbi } from '@verity/contracts'
import { type Address, type Hex, parseEventLogs } from 'viem'
import type { ReceiptStore, StoredBatch } from './receiptStore.js'

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

/**
 * Pure: which vouchers to redeem now — per client the best voucher (highest `channelTotal` among its
 * receipts in finalized batches), when what it would collect reaches `minAmount` (a redemption costs
 * one transaction; waiting lets one cover many receipts) or the voucher is older than `maxAgeMs`.
 */
export function decideRedemptions(
  vouchers: readonly { client: string; channelTotal: bigint; paid: bigint; executedAtMs: number }[],
  nowMs: number,
  policy: { minAmount: bigint; maxAgeMs: number },
): string[] {
  return vouchers
    .filter((v) => v.channelTotal > v.paid && (v.channelTotal - v.paid >= policy.minAmount || nowMs - v.executedAtMs >= policy.maxAgeMs))
    .map((v) => v.client)
}

/**
 * Pure: how many more receipts a node can commit — the contract refuses a commit that would leave
 * more receipts in open batches than the stake can slash in full (`slash` each).
 */
export function stakeCapacity(stake: bigint, slash: bigint, openReceipts: number): number {
  const backed = slash === 0n ? Number.MAX_SAFE_INTEGER : Number(stake / slash)
  return Math.max(0, Math.min(backed - openReceipts, 2 ** 32 - 1))
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
  /** When to redeem a client's channel (default: once it owes 100 fees' worth, or after 10 minutes). */
  redeem?: { minAmount: bigint; maxAgeMs: number }
  log(line: string): void
  onCommitted?(batch: StoredBatch, gasUsed: bigint): void
  onFinalized?(batchId: number, gasUsed: bigint): void
  onRedeemed?(amount: bigint, gasUsed: bigint): void
}

/**
 * Commits batches of stored receipts and settles them. Every step is re-derived from the store and
 * the chain, so a restart (even after kill -9) picks up where the process stopped: a batch created
 * but not known to be committed is looked up on-chain by its root before it is ever sent again.
 */
export class Batcher {
  private running = false
  private timer: NodeJS.Timeout | undefined
  /** Receipts found overturned when redeeming: their vouchers are skipped. */
  private readonly overturned = new Set<string>()

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
          unbatched: this.o.store.unbatchedCount(),
          oldestAgeMs: ((oldest) => (oldest === undefined ? undefined : nowMs - oldest))(this.o.store.oldestUnbatchedMs()),
          maxSize: this.o.maxSize,
          maxAgeMs: this.o.maxAgeMs,
        })
        if (decision.action === 'wait') break
        // What the chain allows: the batch's commit number (fixed before it is first sent, above what
        // the chain has seen from this node), and how many more receipts its stake can back.
        const [exposure, operator] = await Promise.all([
          this.o.chain.publicClient.readContract({
            address: this.o.book.contracts.settlement,
            abi: settlementAbi,
            functionName: 'exposureOf',
            args: [this.o.sender.address],
          }),
          this.o.chain.publicClient.readContract({
            address: this.o.book.contracts.nodeRegistry,
            abi: nodeRegistryAbi,
            functionName: 'getOperator',
            args: [this.o.sender.address, Role.inference],
          }),
        ])
        const size = Math.min(decision.size, stakeCapacity(operator.staked, this.o.book.params.slashAmount, exposure.openReceipts))
        if (size === 0) {
          this.o.log(
            `batcher: stake ${operator.staked} backs no more receipts (${exposure.openReceipts} in open batches); waiting for finalization`,
          )
          break
        }
        const inferences = this.o.store.unbatched(size)
        const tree = buildReceiptTree(inferences.map((i) => i.id))
        const feeTotal = inferences.reduce((sum, i) => sum + BigInt(i.fee), 0n)
        const sequence = Math.max(this.o.store.lastSequence(), exposure.commits) + 1
        await this.commitPending(this.o.store.createBatch(tree.root, inferences, feeTotal, nowMs, sequence), false)
      }
      if (this.o.finalize) {
        const due = this.o.store.batchesWithStatus('committed')
        if (due.length > 0) {
          // Chain time can run ahead of the wall clock (dev chains mine a second per block): use the later.
          const latest = Number((await this.o.chain.publicClient.getBlock({ blockTag: 'latest' })).timestamp) * 1000
          const now = Math.max(Date.now(), latest)
          for (const batch of due) if (decideFinalize(batch, now, this.o.book.params.challengeWindow)) await this.finalize(batch)
        }
        await this.redeemDue(nowMs)
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
    let result: Awaited<ReturnType<TxSender['write']>>
    try {
      result = await sender.write({
        address: book.contracts.settlement,
        abi: settlementAbi,
        functionName: 'commitBatch',
        args: [batch.root, batch.count, BigInt(batch.feeTotal), batch.sequence!, this.o.dataUrlOf(batch.root)],
      })
    } catch (error) {
      // An earlier send of this very batch (same sequence number) was mined meanwhile: find it, never commit again.
      if (error instanceof ContractRevertError && error.errorName === 'WrongCommitSequence' && !mayBeOnChain)
        return this.commitPending(batch, true)
      throw error
    }
    const [event] = parseEventLogs({ abi: settlementAbi, eventName: 'BatchCommitted', logs: result.receipt.logs })
    if (!event) throw new Error(`commit transaction ${result.hash} has no BatchCommitted event`)
    const block = await chain.publicClient.getBlock({ blockNumber: result.receipt.blockNumber })
    store.markCommitted(batch.localId, Number(event.args.batchId), Number(block.timestamp), Number(result.receipt.blockNumber))
    this.o.log(`committed batch ${event.args.batchId}: ${batch.count} receipts, root ${batch.root.slice(0, 10)}…, ${result.gasUsed} gas`)
    this.o.onCommitted?.(store.batchByLocal(batch.localId)!, result.gasUsed)
  }

  /** Redeems, for each client whose channel is due, its best voucher whose receipt has settled. */
  private async redeemDue(nowMs: number): Promise<void> {
    const { store, book, sender } = this.o
    const policy = this.o.redeem ?? { minAmount: 0n, maxAgeMs: 10 * 60_000 }
    const vouchers = store.redeemableVouchers(this.overturned)
    const due = new Set(
      decideRedemptions(
        vouchers.map((v) => ({
          client: v.client,
          channelTotal: BigInt(v.channelTotal),
          paid: store.channel(v.client).paid,
          executedAtMs: v.executedAtMs,
        })),
        nowMs,
        policy,
      ),
    )
    for (const voucher of vouchers.filter((v) => due.has(v.client))) {
      const batch = store.batchByLocal(voucher.batchLocal!)!
      const tree = buildReceiptTree(store.batchInferences(batch.localId).map((i) => i.id))
      const request = requestFromWire(JSON.parse(voucher.requestJson))
      try {
        const result = await sender.write({
          address: book.contracts.settlement,
          abi: settlementAbi,
          functionName: 'redeem',
          args: [
            request,
            voucher.clientSignature,
            {
              outputHash: voucher.outputHash,
              fee: BigInt(voucher.fee),
              issuedAt: BigInt(voucher.issuedAt),
              batchId: BigInt(batch.batchId!),
              index: voucher.batchIndex!,
              proof: tree.proof(voucher.batchIndex!),
            },
          ],
        })
        store.setChannelPaid(voucher.client, request.channelTotal)
        const [event] = parseEventLogs({ abi: settlementAbi, eventName: 'Redeemed', logs: result.receipt.logs })
        this.o.onRedeemed?.(event?.args.debited ?? 0n, result.gasUsed)
        this.o.log(`redeemed ${voucher.client}'s channel up to ${request.channelTotal}, ${result.gasUsed} gas`)
      } catch (error) {
        if (error instanceof ContractRevertError && error.errorName === 'ReceiptOverturnedAlready') this.overturned.add(voucher.id)
        else if (error instanceof ContractRevertError && error.errorName === 'ChannelNotAhead') {
          const paid = await this.o.chain.publicClient.readContract({
            address: book.contracts.settlement,
            abi: settlementAbi,
            functionName: 'channelPaid',
            args: [voucher.client, sender.address],
          })
          store.setChannelPaid(voucher.client, paid)
        } else throw error
      }
    }
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
