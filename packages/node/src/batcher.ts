import { type AddressBook, type Chain, ContractRevertError, scanLogs, type TxSender } from '@verity/chain'
import {
  type BatchTree,
  batchLeavesFor,
  buildBatchTree,
  decoyCommitOf,
  decoyCount,
  decoyPositions,
  decoySecretOf,
  NO_DECOYS_SALT,
  nodeRegistryAbi,
  Role,
  receiptFromWire,
  requestFromWire,
  settlementAbi,
} from '@verity/contracts'
import { tensorBytes } from '@verity/runtime/core'
import { type Address, concat, encodeFunctionData, type Hex, hexToBigInt, keccak256, parseEventLogs, toHex } from 'viem'
import type { DecoyLeaf, ReceiptStore, StoredBatch, StoredInference } from './receiptStore.js'
import { committedOutputs, wrongTag } from './tagAudit.js'

/** A stored batch's tree: its leaves in order and its decoy commitment (its root is the committed one). */
export function batchTreeOf(store: ReceiptStore, batch: StoredBatch): BatchTree {
  return buildBatchTree(
    store.batchLeaves(batch.localId).map((i) => i.id),
    decoyCommitOf(batch.decoySalt ?? NO_DECOYS_SALT),
  )
}

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

/**
 * Pure: how many real receipts fit a batch of at most `maxLeaves` leaves, decoys included. The real
 * receipts of `t` leaves, t − decoyCount(t), never fall as t grows, so the answer is that count at
 * `maxLeaves` — O(1), whatever the bound (a node's stake capacity can be billions).
 */
export function realReceiptsFor(maxLeaves: number, decoyRateBps: number): number {
  return maxLeaves <= 0 ? 0 : maxLeaves - decoyCount(maxLeaves, decoyRateBps)
}

/**
 * Pure: the leaves of a batch in order — the real receipts, with decoy j (`decoys[j]`, made while the
 * batch was open) at its position (`decoyPositions` of the salt for the batch's size). `decoys` must
 * hold exactly the decoys a batch of `real.length` receipts hides.
 */
export function layoutBatch<T>(real: readonly T[], decoys: readonly T[], salt: Hex, decoyRateBps: number): T[] {
  const total = batchLeavesFor(real.length, decoyRateBps)
  const positions = decoyPositions(salt, total, decoyRateBps)
  if (positions.length !== decoys.length)
    throw new RangeError(`a batch of ${real.length} receipts hides ${positions.length} decoys, ${decoys.length} given`)
  const at = new Map(positions.map((d) => [d.position, decoys[d.decoy]!]))
  let next = 0
  return Array.from({ length: total }, (_, i) => at.get(i) ?? real[next++]!)
}

/** Pure: how many decoys a batch of `real` receipts hides (0 for an empty one). */
export const decoysNeeded = (real: number, decoyRateBps: number): number =>
  real === 0 ? 0 : decoyCount(batchLeavesFor(real, decoyRateBps), decoyRateBps)

/**
 * Pure: how many decoys the open batch must hold by now. A batch of n real receipts hides
 * `decoysNeeded(n)` decoys; decoy j is made at a secret moment of the stretch in which it is needed —
 * when the open batch's real receipts reach a count drawn from [first n needing it, first n needing
 * the next one) (capped by `maxSize`), or when its oldest receipt has waited a time drawn from
 * [0, maxAgeMs], whichever comes first — so in the receipts feed it sits among its batch's real
 * receipts at no fixed rank (the first after the batch's first receipt, say). A batch being cut
 * (`cutting`) must hold all it needs at once. Both draws come from keccak(decoy j's secret ‖ "when"),
 * secret until the salt is revealed.
 */
export function decoysDue(s: {
  real: number
  waitedMs: number | undefined
  salt: Hex
  decoyRateBps: number
  maxSize: number
  maxAgeMs: number
  cutting: boolean
}): number {
  const n = Math.min(s.real, s.maxSize)
  const needed = decoysNeeded(n, s.decoyRateBps)
  if (s.cutting) return needed
  const schedule = decoySchedule(s.salt, s.decoyRateBps, s.maxSize, s.maxAgeMs, needed)
  let due = 0
  for (let j = 0; j < needed; j++) {
    const { atReal, atMs } = schedule[j]!
    if (n < atReal && (s.waitedMs === undefined || s.waitedMs < atMs)) break
    due = j + 1
  }
  return due
}

/**
 * What the open batch's last decoy look found: its real receipts then (`real`), how many receipts the
 * batcher had been told of when it started (`noted`), when its oldest real receipt was answered, and
 * when decoy `next` — the first it does not hold — falls due (`atReal`, `atMs` of `decoysDue`'s
 * schedule); `next` undefined: it holds every decoy a full batch hides.
 */
export type DecoyWatch = {
  real: number
  noted: number
  oldestMs: number | undefined
  next: number | undefined
  atReal: number
  atMs: number
}

/**
 * Pure: whether the open batch may need a decoy now that the batcher has been told of `noted`
 * receipts in all (`decoysDue`'s rule for decoy `w.next`, with the receipts told of since the look
 * counted as real). It never answers no when one is due — receipts told of twice only make it look
 * early — so a receipt's look can be skipped when it answers no. The first receipt of an empty open
 * batch always looks (its oldest receipt's time is not known without one).
 */
export function decoyLookNeeded(w: DecoyWatch, noted: number, nowMs: number, decoyRateBps: number, maxSize: number): boolean {
  if (w.next === undefined) return false
  const real = w.real + noted - w.noted
  if (w.oldestMs === undefined) return real > 0
  const n = Math.min(real, maxSize)
  if (n >= w.atReal) return true
  return decoysNeeded(n, decoyRateBps) > w.next && nowMs - w.oldestMs >= w.atMs
}

type DecoySchedule = { first: number; due: { atReal: number; atMs: number }[] }
/** The last few open batches' decoy schedules (asked for after every group of receipts). */
const schedules = new Map<string, DecoySchedule>()

/** Pure: the watch after a look that found `held` decoys in the open batch (all those due by then). */
export function watchDecoys(
  look: { real: number; noted: number; oldestMs: number | undefined; held: number; salt: Hex },
  decoyRateBps: number,
  maxSize: number,
  maxAgeMs: number,
): DecoyWatch {
  const { real, noted, oldestMs, held } = look
  if (held >= decoysNeeded(maxSize, decoyRateBps)) return { real, noted, oldestMs, next: undefined, atReal: 0, atMs: 0 }
  const { atReal, atMs } = decoySchedule(look.salt, decoyRateBps, maxSize, maxAgeMs, held + 1)[held]!
  return { real, noted, oldestMs, next: held, atReal, atMs }
}

/**
 * For decoys 0 … count − 1 of the open batch: the real-receipt count and the wait at which each falls
 * due (`decoysDue`). The draws are fixed by the salt, so each is derived once per batch and kept.
 */
function decoySchedule(salt: Hex, decoyRateBps: number, maxSize: number, maxAgeMs: number, count: number): DecoySchedule['due'] {
  const key = `${salt}:${decoyRateBps}:${maxSize}:${maxAgeMs}`
  let schedule = schedules.get(key)
  if (!schedule) {
    if (schedules.size >= 8) schedules.delete(schedules.keys().next().value!)
    schedule = { first: 1, due: [] }
    schedules.set(key, schedule)
  }
  for (let j = schedule.due.length; j < count; j++) {
    while (decoysNeeded(schedule.first, decoyRateBps) <= j) schedule.first++
    const first = schedule.first
    let next = first + 1
    while (next <= maxSize && decoysNeeded(next, decoyRateBps) <= j + 1) next++
    const when = hexToBigInt(keccak256(concat([decoySecretOf(salt, j), toHex('when')])))
    schedule.due.push({
      atReal: first + Number(when % BigInt(next - first)),
      atMs: Number((when >> 128n) % BigInt(Math.max(0, maxAgeMs) + 1)),
    })
  }
  return schedule.due
}

/**
 * Pure: what to send with a batch's finalization once its window is over: each decoy that some
 * verifier attested (proved present, then every such attester slashed), from the attestations'
 * bitmaps. The honest verifiers re-executed their sample and challenged the decoys in it instead.
 */
export function lazyAttesters<A extends { verifier: Address; bitmap: readonly bigint[] }>(
  decoys: readonly { decoy: number; position: number }[],
  attestations: readonly A[],
): { decoy: number; position: number; attesters: A[] }[] {
  return decoys
    .map((d) => ({
      ...d,
      attesters: attestations.filter((a) => ((a.bitmap[d.position >> 8] ?? 0n) >> BigInt(d.position & 255)) & 1n),
    }))
    .filter((d) => d.attesters.length > 0)
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
  /**
   * Makes a decoy receipt issued at `nowMs` for the open batch whose salt is `batchKey` (required when
   * the deployment's `decoyRateBps` is above 0).
   */
  makeDecoy?(secret: Hex, template: StoredInference, nowMs: number, batchKey: Hex): Promise<DecoyLeaf>
  /** Fresh randomness for decoy salts (default: crypto.getRandomValues). */
  randomSalt?(): Hex
}

/**
 * Commits batches of stored receipts and settles them. Every step is re-derived from the store and
 * the chain, so a restart (even after kill -9) picks up where the process stopped: a batch created
 * but not known to be committed is looked up on-chain by its root before it is ever sent again.
 */
export class Batcher {
  private running = false
  /** Once stopped, a receipt noted late (its answer was being written) makes no decoy: the store may be closing. */
  private stopped = false
  private timer: NodeJS.Timeout | undefined
  /** Receipts found overturned when redeeming: their vouchers are skipped. */
  private readonly overturned = new Set<string>()
  /** Batches whose decoys are already revealed on-chain (their reveal reverted): finalized alone. */
  private readonly revealed = new Set<number>()
  /** Batches whose refutations the chain refused: finalized without auditing their tags again. */
  private readonly refuted = new Set<number>()

  /** Serializes decoy making and cutting (a tick and the receipts' `noteReceipts` both make decoys). */
  private lock: Promise<unknown> = Promise.resolve()
  private topping: Promise<void> | undefined
  private toppingAgain = false
  /** Receipts told of by `noteReceipts`, and what the open batch's last look found: most receipts need no look. */
  private noted = 0
  private watch: DecoyWatch | undefined

  constructor(private readonly o: BatcherOptions) {}

  private exclusive<T>(run: () => Promise<T>): Promise<T> {
    const result = this.lock.then(run)
    this.lock = result.catch(() => {})
    return result
  }

  /**
   * Called once a receipt is stored: makes the decoys the open batch needs now (`decoysDue`), so each
   * enters the receipts feed among the real receipts, not with its batch's cut. It looks in the next
   * turn of the event loop (`setImmediate`): after the answers of this turn are written, and once for
   * every receipt noted meanwhile — and only when the last look says a decoy may be due by now
   * (`decoyLookNeeded`): the batcher's tick looks every interval anyway. Never throws (logs).
   */
  noteReceipts(): void {
    if (this.stopped) return
    this.noted++
    if (this.topping) {
      this.toppingAgain = true
      return
    }
    const { watch } = this
    if (watch && !decoyLookNeeded(watch, this.noted, Date.now(), this.o.book.params.decoyRateBps, this.o.maxSize)) return
    this.topping = (async () => {
      do {
        await new Promise((resolve) => setImmediate(resolve))
        this.toppingAgain = false
        if (this.stopped) return
        await this.makeDueDecoys(Date.now())
      } while (this.toppingAgain)
    })()
      .catch((error) => this.o.log(`batcher: decoy: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`))
      .finally(() => {
        this.topping = undefined
      })
  }

  /** Makes the decoys the open batch needs by `nowMs` (`decoysDue`); resolves with how many it holds. */
  async makeDueDecoys(nowMs: number): Promise<number> {
    return this.exclusive(async () => {
      await this.topUpDecoys(nowMs)
      return this.o.store.openDecoyCount()
    })
  }

  /** The open batch's salt, drawn when the batch opens (the first time, on the first need). */
  private openSalt(): Hex {
    return this.o.store.openBatchSalt() ?? this.o.store.openBatch(this.freshSalt())
  }

  private freshSalt(): Hex {
    return this.o.randomSalt?.() ?? toHex(crypto.getRandomValues(new Uint8Array(32)))
  }

  /**
   * Makes the open batch's missing decoys, one at a time, each stored durably before the next: those
   * due by now, or (`cutting`: the batch is cut with that many real receipts) all it needs. Under the lock.
   */
  private async topUpDecoys(nowMs: number, cutting?: number): Promise<void> {
    const { store } = this.o
    const rate = this.o.book.params.decoyRateBps
    if (rate === 0) return
    // A cut opens a new batch: the next receipt looks at it.
    if (cutting !== undefined) this.watch = undefined
    for (;;) {
      const noted = this.noted
      const salt = this.openSalt()
      const held = store.openDecoyCount()
      const oldest = store.oldestUnbatchedMs()
      const real = cutting ?? store.unbatchedCount()
      const due = decoysDue({
        real,
        waitedMs: oldest === undefined ? undefined : nowMs - oldest,
        salt,
        decoyRateBps: rate,
        maxSize: cutting ?? this.o.maxSize,
        maxAgeMs: this.o.maxAgeMs,
        cutting: cutting !== undefined,
      })
      if (held >= due) {
        if (cutting === undefined)
          this.watch = watchDecoys({ real, noted, oldestMs: oldest, held, salt }, rate, this.o.maxSize, this.o.maxAgeMs)
        return
      }
      if (!this.o.makeDecoy) throw new Error(`the deployment hides ${rate} bps decoys per batch and this batcher cannot make them`)
      const secret = decoySecretOf(salt, held)
      // The template: one of the open batch's latest real receipts (the decoy's input is a variation of its input).
      const recent = store.latestUnbatched(8)
      const template = recent[Number(hexToBigInt(secret) % BigInt(recent.length))]!
      const made = Date.now()
      await store.insertDecoy(await this.o.makeDecoy(secret, template, made, salt))
    }
  }

  /**
   * Cuts the open batch with its `real` oldest receipts and the decoys it holds (under the lock, with
   * no await: nothing is stored between the decoys' count and the batch). Decoys beyond what `real`
   * receipts need — the batch cut smaller than the open batch, when the stake backs no more — are
   * deleted: their secrets belong to this batch's salt. The next batch opens in the same transaction.
   */
  private async cut(real: number, nowMs: number, chainCommits: number): Promise<StoredBatch> {
    const { store } = this.o
    const rate = this.o.book.params.decoyRateBps
    const salt = rate === 0 ? this.freshSalt() : this.openSalt()
    const inferences = store.unbatchedLeaves(real)
    const held = rate === 0 ? [] : store.openDecoys()
    const needed = decoysNeeded(inferences.length, rate)
    if (held.length < needed) throw new Error(`the open batch holds ${held.length} decoys, its cut needs ${needed}`)
    if (held.length > needed) {
      store.dropOpenDecoys(held.slice(needed).map((d) => d.seq))
      this.o.log(`batcher: batch cut at ${real} receipts (stake): ${held.length - needed} decoy(s) made for it dropped`)
    }
    const leaves = layoutBatch(inferences, held.slice(0, needed), salt, rate)
    const tree = buildBatchTree(
      leaves.map((l) => l.id),
      decoyCommitOf(salt),
    )
    const feeTotal = inferences.reduce((sum, i) => sum + BigInt(i.fee), 0n)
    const sequence = Math.max(store.lastSequence(), chainCommits) + 1
    return store.createBatch(tree.root, leaves, feeTotal, nowMs, sequence, salt, this.freshSalt())
  }

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
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    while (this.running) await new Promise((r) => setTimeout(r, 10))
    await this.topping
  }

  /** One pass: finish pending commits, commit what is due, settle what is final. Single-flight. */
  async tick(nowMs: number): Promise<void> {
    if (this.running) return
    this.running = true
    try {
      // A batch left pending by an earlier pass or process may have reached the chain: look it up first.
      for (const batch of this.o.store.batchesWithStatus('pending')) await this.commitPending(batch, true)
      // Decoys whose moment has come by time alone (the open batch's oldest receipt has waited long enough).
      await this.exclusive(() => this.topUpDecoys(nowMs))
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
        const rate = this.o.book.params.decoyRateBps
        // The decision counts real receipts; the stake backs every leaf, decoys included.
        const capacity = stakeCapacity(operator.staked, this.o.book.params.slashAmount, exposure.openReceipts)
        const real = Math.min(decision.size, realReceiptsFor(capacity, rate))
        if (real === 0) {
          this.o.log(
            `batcher: stake ${operator.staked} backs no more receipts (${exposure.openReceipts} in open batches); waiting for finalization`,
          )
          break
        }
        // Forced errors: the open batch holds its decoys already (made as it filled); the cut takes exactly
        // those. Making the missing ones (if any) and cutting happen under the decoy lock, with no other
        // write between: a decoy made for this batch can never land in the next one.
        const created = await this.exclusive(async () => {
          await this.topUpDecoys(nowMs, real)
          return this.cut(real, nowMs, exposure.commits)
        })
        await this.commitPending(created, false)
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
      const tree = batchTreeOf(store, batch)
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
          // The paid attesters only: one assigned nothing attested unpaid (Settlement refuses it listed).
          .filter((e) => e.kind === 'attested' && (e.data as { paid?: boolean }).paid !== false)
          .map((e) => e.actor.toLowerCase()),
      ),
    ].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1)) as Address[]
    const abi = settlementAbi
    const finalize = encodeFunctionData({ abi, functionName: 'finalize', args: [BigInt(batchId), attesters] })
    const calls: Hex[] = []
    const rate = book.params.decoyRateBps
    const tree = batchTreeOf(store, batch)
    const attestations = store
      .batchEvents(batchId)
      .filter((e) => e.kind === 'attested')
      .map((e) => {
        const data = e.data as { bitmap: string[]; tags?: Hex }
        return { verifier: e.actor as Address, bitmap: data.bitmap.map(BigInt), tags: data.tags }
      })
    // The full rows only when a decoy was attested or an attestation is audited.
    let leaves: StoredInference[] | undefined
    const slashed = new Set<string>()
    if (rate > 0 && batch.decoySalt && !this.revealed.has(batchId)) {
      // One transaction: reveal the decoys, slash every verifier that attested one (the node earns the
      // bounty), refute every attestation with a wrong execution tag, then finalize, which pays only
      // the attesters not slashed.
      calls.push(encodeFunctionData({ abi, functionName: 'revealDecoys', args: [BigInt(batchId), batch.decoySalt, tree.receiptsRoot] }))
      for (const d of lazyAttesters(decoyPositions(batch.decoySalt, batch.count, rate), attestations)) {
        leaves ??= store.batchInferences(batch.localId)
        const receipt = receiptFromWire(JSON.parse(leaves[d.position]!.receiptJson))
        calls.push(
          encodeFunctionData({
            abi,
            functionName: 'proveDecoy',
            args: [BigInt(batchId), d.decoy, batch.decoySalt, receipt, tree.proof(d.position)],
          }),
        )
        for (const a of d.attesters) {
          if (slashed.has(a.verifier.toLowerCase())) continue
          slashed.add(a.verifier.toLowerCase())
          calls.push(
            encodeFunctionData({
              abi,
              functionName: 'slashAttester',
              args: [BigInt(batchId), d.position, a.verifier, [...a.bitmap], a.tags ?? '0x'],
            }),
          )
        }
      }
    }
    // Execution tags: an attester whose tag for a receipt is wrong for the outputs this node computed
    // attested it without executing it (docs/protocol.md, "Execution tags"); the node shows it on-chain.
    let refuting = false
    if (!this.refuted.has(batchId))
      for (const a of attestations) {
        if (a.tags === undefined || slashed.has(a.verifier.toLowerCase())) continue
        leaves ??= store.batchInferences(batch.localId)
        const rows = leaves
        const outputs = new Map<number, Int16Array[] | undefined>()
        const found = wrongTag(batchId, batch.count, { ...a, tags: a.tags }, (i) => {
          if (!outputs.has(i)) {
            const row = rows[i]
            outputs.set(i, row ? committedOutputs(row.outputsJson, row.outputHash) : undefined)
          }
          return outputs.get(i)
        })
        if (found === undefined) continue
        slashed.add(a.verifier.toLowerCase())
        refuting = true
        const receipt = receiptFromWire(JSON.parse(rows[found.index]!.receiptJson))
        calls.push(
          encodeFunctionData({
            abi,
            functionName: 'refuteAttestation',
            args: [
              BigInt(batchId),
              { verifier: a.verifier, bitmap: [...a.bitmap], tags: a.tags },
              receipt,
              found.index,
              tree.proof(found.index),
              found.outputs.map((t) => toHex(tensorBytes(t))),
            ],
          }),
        )
        this.o.log(`batch ${batchId}: verifier ${a.verifier} attested receipt ${found.index} with a wrong execution tag; refuting it`)
      }
    try {
      const result = await sender.write(
        calls.length === 0
          ? { address: book.contracts.settlement, abi, functionName: 'finalize', args: [BigInt(batchId), attesters] }
          : { address: book.contracts.settlement, abi, functionName: 'multicall', args: [[...calls, finalize]] },
      )
      if (calls.length > 1)
        this.o.log(`batch ${batchId}: ${calls.length - 1} decoy proof(s), attester slash(es) and refutation(s) sent with its finalization`)
      store.setStatus(
        batchId,
        'finalized',
        Number((await this.o.chain.publicClient.getBlock({ blockNumber: result.receipt.blockNumber })).timestamp),
      )
      this.o.log(`finalized batch ${batchId} (${attesters.length} attester(s)), ${result.gasUsed} gas`)
      this.o.onFinalized?.(batchId, result.gasUsed)
    } catch (error) {
      if (error instanceof ContractRevertError && error.errorName === 'BatchAlreadyFinalized') store.setStatus(batchId, 'finalized')
      else if (error instanceof ContractRevertError && refuting && ['TagCorrect', 'NotAttested'].includes(error.errorName)) {
        // A refutation the chain does not accept (a stored row that is not the receipt's, an
        // attestation slashed meanwhile): the batch still settles; it is not audited again.
        this.refuted.add(batchId)
        this.o.log(`batch ${batchId}: a refutation was refused (${error.errorName}); finalizing without it`)
      } else if (error instanceof ContractRevertError && error.errorName === 'DataMismatch') {
        // Revealed already (multicalls are atomic, so by an earlier finalization not yet recorded): finalize alone next.
        this.revealed.add(batchId)
      } else if (
        error instanceof ContractRevertError &&
        ['ChallengeWindowOpen', 'BatchFrozen', 'AttestersMismatch', 'AlreadyOverturned', 'NotAttested'].includes(error.errorName)
      ) {
        // Not yet: the window is still open on-chain, a challenge froze the batch, or an attestation is not recorded yet.
      } else throw error
    }
  }
}
