import {
  type AddressBook,
  type Chain,
  ContractRevertError,
  type EventFollower,
  followEvents,
  scanLogs,
  TxSender,
  verityContracts,
} from '@verity/chain'
import {
  BATCH_FETCH_LIMITS,
  BatchStatus,
  buildBatchTree,
  custodyProblem,
  decodeMode,
  decoyOutputHashOf,
  decoyPositions,
  fetchJson,
  hashReceipt,
  inputsFromWire,
  type Receipt,
  type ReceiptTree,
  receiptFromWire,
  receiptToWire,
  requestFromWire,
  settlementAbi,
  verityTokenAbi,
} from '@verity/contracts'
import { createGameResponder, type GameHistory, type GameMove, type GameState, type TraceView, traceView } from '@verity/dispute'
import { executionSecret, executionTag, packTags } from '@verity/protocol'
import { runQuantized, tensorsHash } from '@verity/runtime'
import { createModelLoader } from '@verity/sdk'
import { Hono } from 'hono'
import { type Address, encodeFunctionData, type Hex, parseEventLogs } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { dataChallengeDelay, int16FromHex, publishedInputsToWire } from './dataChallengeRules.js'
import { errorBody, httpStatusOf } from './errors.js'
import { feedQuery } from './feedQuery.js'
import { COMPUTE_BUCKETS, Metrics } from './metrics.js'
import { verifierSelection } from './sampledReceipts.js'
import { assignedLeaves, bitmapOf, type Selection, selectionDraw, selectReceipts } from './selection.js'
import { type VerifierBatch, VerifierStore } from './verifierStore.js'

export type VerifierOptions = {
  chain: Chain
  book: AddressBook
  key: Hex
  dbPath: string
  hubUrl: string
  /**
   * Share of each batch's leaves re-executed, on top of its assignment (Settlement's, which it always
   * checks: the node's adaptive rate over the verifiers, docs/economics.md); quorum receipts are always
   * checked. Default: the assignment alone.
   */
  sampleRate?: number
  /**
   * Batches verified at once (default 4), at most one per node: a node that holds connections open
   * occupies one worker until its fetch times out, the others keep verifying.
   */
  concurrency?: number
  /**
   * Backoff between attempts at a batch that failed (its data unavailable, a fetch timed out): the
   * first delay, doubled after each failure up to `maxDelayMs`. A batch is retried until its
   * challenge window ends, then skipped. Defaults: 200 ms, 5 s.
   */
  retry?: { firstDelayMs?: number; maxDelayMs?: number }
  /** Bounds on each fetch of a batch's receipts and of an input (defaults: BATCH_FETCH_LIMITS; 10 s, 16 MiB). */
  fetchLimits?: { batch?: { timeoutMs: number; maxBytes: number }; input?: { timeoutMs: number; maxBytes: number } }
  log?(line: string): void
}

/**
 * The parts of a verifier a different strategy may replace (@verity/adversary's false challenger):
 * whether to challenge a receipt whose re-execution matched (never, for an honest verifier), and how
 * to move in its games (the honest `challengerMove` by default).
 */
export type VerifierParts = {
  challengesMatch?(receipt: Receipt, index: number): boolean
  decide?(game: GameState, history: GameHistory, view: TraceView): GameMove | undefined
}

export type Verifier = {
  address: Hex
  /** Its HTTP API (serve it with `serveApp`): `/healthz`, `/metrics`, `/v1/checks?after=<seq>`. */
  app: Hono
  store: VerifierStore
  metrics: Metrics
  start(): void
  stop(): Promise<void>
  /** Processes every batch seen so far (tests and tools). */
  drain(): Promise<void>
}

/**
 * The verifier (the op-challenger shape): a monitor records `BatchCommitted` events with a
 * resumable cursor; for each batch a pure selection picks the receipts to re-execute from a seed
 * fixed by the commit block; the responder fetches inputs, re-executes, attests all matches in one
 * transaction and challenges each mismatch with a bond, keeping the evidence.
 */
export function createVerifier(options: VerifierOptions, parts: VerifierParts = {}): Verifier {
  const { chain, book } = options
  const log = options.log ?? (() => {})
  const account = privateKeyToAccount(options.key)
  const store = new VerifierStore(options.dbPath)
  const models = createModelLoader({ chain, book, hubs: [options.hubUrl], registeredUri: false })
  const sender = new TxSender({ chain, account: options.key })
  const contracts = verityContracts(chain, book)
  const concurrency = Math.max(1, options.concurrency ?? 4)
  const retryFirstMs = options.retry?.firstDelayMs ?? 200
  const retryMaxMs = options.retry?.maxDelayMs ?? 5000
  const batchLimits = options.fetchLimits?.batch ?? BATCH_FETCH_LIMITS
  const inputLimits = options.fetchLimits?.input ?? { timeoutMs: 10_000, maxBytes: 16 * 1024 * 1024 }
  const domain = { chainId: chain.chainId, settlement: book.contracts.settlement }
  const metrics = new Metrics('verity_verifier')
  metrics.define('receipts_checked_total', 'counter', 'Receipts re-executed, by verification mode')
  metrics.define('compute_seconds', 'histogram', 'Model run time per re-execution', COMPUTE_BUCKETS)
  metrics.define('receipts_matched_total', 'counter', 'Re-executed receipts whose output matched')
  metrics.define('challenges_total', 'counter', 'Challenges filed')
  metrics.define('attestations_total', 'counter', 'Attestation transactions')
  metrics.define('gas_used_total', 'counter', 'Gas spent, by function')
  metrics.define('disputes_total', 'counter', 'Dispute games played, by outcome')
  let follower: EventFollower | undefined
  let timer: NodeJS.Timeout | undefined
  let approved = false
  const games = createGameResponder({
    chain,
    book,
    sender,
    side: 'challenger',
    log,
    onResolved: (_, game) => metrics.inc('disputes_total', { outcome: game.nodeLost ? 'won' : 'lost' }),
    async viewFor(game) {
      const body = store.gameInput(game.inputHash)
      if (body === undefined) return undefined
      const model = await models.load(game.modelId)
      return traceView(model, runQuantized(model, inputsFromWire(model, JSON.parse(body)), { trace: true }).trace!)
    },
    ...(parts.decide ? { decide: parts.decide } : {}),
  })

  async function processBatch(batch: VerifierBatch): Promise<void> {
    const onChain = await contracts.settlement.read.getBatch([BigInt(batch.batchId)])
    // Already attested (a restart after the transaction was mined) or settled: nothing left to send.
    const attested = await contracts.settlement.read.hasAttested([BigInt(batch.batchId), account.address])
    if (onChain.status === BatchStatus.finalized) {
      store.done(batch.batchId, { checked: 0, matched: 0, attestTx: null })
      return
    }
    // Attested already (a restart, or a batch reopened because a node published withheld data on-chain):
    // only the receipts whose data was published are left to re-execute; nothing more is attested.
    const recheckOnly = attested
    let data: {
      receipts: { receipt: unknown; signature: unknown; request: unknown; clientSignature: unknown }[]
      decoyCommit?: unknown
    }
    try {
      data = (await fetchJson(batch.dataUri, { ...batchLimits, signal: stopping.signal })) as typeof data
    } catch (error) {
      // The batch itself withheld: from `dataChallengeAtMs` on, its sample is challenged by position.
      if (await verifyWithheld(batch)) return
      throw error
    }
    if (!Array.isArray(data?.receipts)) throw new Error(`batch data at ${batch.dataUri} has no receipts array`)
    const decoyCommit = decoyCommitFrom(data, batch)
    const receipts = data.receipts.map((r, i) => receiptFromWire(r.receipt, `receipts[${i}]`))
    // The receipts' ids and their tree, computed once: checked against the root, then used for checks and challenges.
    if (receipts.length !== batch.count)
      throw new Error(`batch ${batch.batchId}: ${receipts.length} receipts served for ${batch.count} committed`)
    const ids = receipts.map((r) => hashReceipt(r, domain))
    const tree = buildBatchTree(ids, decoyCommit)
    if (tree.root !== batch.root) throw new Error(`batch ${batch.batchId}: the served receipts do not hash to the committed root`)
    // Its assignment (Settlement refuses an attestation that leaves out one of these leaves), and what
    // it re-executes: the assignment, more at its own fixed share, and every quorum receipt.
    const selection = await selectionFor(batch)
    const assigned = assignedLeaves(batch.blockHash, account.address, batch.batchId, batch.count, selection.assignment)
    const picked = selectReceipts(
      batch.blockHash,
      account.address,
      batch.batchId,
      receipts.map((r) => r.mode),
      selection,
    )
    const origin = new URL(batch.dataUri).origin
    const matched: number[] = []
    // Each matched receipt's execution secret (from the outputs it computed): its attestation's tags.
    const secrets = new Map<number, Hex>()
    // Leaves this verifier challenged (Settlement lets its attestation leave out exactly those).
    const challengedByMe = new Set<number>()
    let executed = 0
    for (const index of picked) {
      const receipt = receipts[index]!
      // Input the node published on-chain (answering a data challenge) is used first: it is the node's own commitment.
      const published = store.publishedInput(receipt.inputHash)
      if (recheckOnly && published === undefined) continue
      // The chain of custody of each receipt it would attest (signatures and fields, before any
      // re-execution): one that fails is not attested; its data is challenged, which the node cannot
      // answer. Checked on the sample, like the outputs: a custody cheat is caught with the same
      // probability as a wrong output and costs the node the same slash, and checking every receipt
      // of every batch (two signature recoveries each) cost each verifier more than the node's own
      // execution of a small model.
      const served = data.receipts[index]!
      let problem: string | undefined
      try {
        problem = custodyProblem({
          receipt,
          signature: served.signature as Hex,
          request: requestFromWire(served.request, `receipts[${index}].request`),
          clientSignature: served.clientSignature as Hex,
          committer: batch.node as Address,
          domain,
        })
      } catch (error) {
        problem = (error as Error).message
      }
      if (problem !== undefined) {
        if (await challengeData(batch, receipt, index, tree, problem)) challengedByMe.add(index)
        continue
      }
      const model = await models.load(receipt.modelId)
      let wireInputs: unknown
      if (published !== undefined) wireInputs = publishedInputsToWire(model, published)
      else
        try {
          wireInputs = (
            (await fetchJson(`${origin}/v1/data/${receipt.inputHash}`, { ...inputLimits, signal: stopping.signal })) as {
              inputs?: unknown
            } | null
          )?.inputs
        } catch (error) {
          // Withheld data cannot keep a receipt from being checked: from `dataChallengeAtMs` on, the data
          // is challenged on-chain (the node must publish it or lose the receipt); before, it is retried.
          if ((await chainTimeMs()) < dataChallengeAtMs(batch)) throw error
          if (await challengeData(batch, receipt, index, tree, `input ${receipt.inputHash} unavailable: ${(error as Error).message}`))
            challengedByMe.add(index)
          continue
        }
      const inputs = inputsFromWire(model, wireInputs)
      if (tensorsHash(inputs) !== receipt.inputHash)
        throw new Error(`input served for ${receipt.inputHash} hashes to ${tensorsHash(inputs)}`)
      const runStarted = performance.now()
      const outputs = runQuantized(model, inputs).outputs
      const recomputed = tensorsHash(outputs)
      const computeMs = performance.now() - runStarted
      executed++
      const first = store.recordCheck({
        batchId: batch.batchId,
        index,
        inferenceId: ids[index]!,
        mode: receipt.mode,
        computeMs,
        matched: recomputed === receipt.outputHash,
        atMs: Date.now(),
      })
      // Counted once per receipt, as the dashboard counts them (a retried batch re-runs its receipts).
      if (first) {
        metrics.inc('receipts_checked_total', { mode: decodeMode(receipt.mode) })
        metrics.observe('compute_seconds', computeMs / 1000)
      }
      if (recomputed === receipt.outputHash && !parts.challengesMatch?.(receipt, index)) {
        matched.push(index)
        secrets.set(index, executionSecret(outputs))
        if (first) metrics.inc('receipts_matched_total')
        continue
      }
      store.saveGameInput(receipt.inputHash, JSON.stringify(wireInputs))
      store.recordEvidence({
        batchId: batch.batchId,
        index,
        receiptJson: JSON.stringify(data.receipts[index]!.receipt),
        claimed: receipt.outputHash,
        recomputed,
      })
      if (store.evidence(batch.batchId, index)?.challengeId) {
        challengedByMe.add(index)
        continue
      }
      // One game per receipt is enough: another verifier's open or decided challenge covers it (a data
      // challenge does not: once the data is published, the output is still to be challenged).
      // (A challenge of this batch cannot precede its commit: scanned from the commit's block, in bounded ranges.)
      if (await alreadyChallenged(batch, index, 'execution')) {
        log(`receipt ${index} of batch ${batch.batchId} is already challenged; not challenging it again`)
        continue
      }
      await approveBonds()
      const result = await sender.write({
        address: book.contracts.settlement,
        abi: settlementAbi,
        functionName: 'challenge',
        args: [BigInt(batch.batchId), receipt, index, tree.proof(index)],
      })
      const [opened] = parseEventLogs({ abi: settlementAbi, eventName: 'ChallengeOpened', logs: result.receipt.logs })
      store.challenged(batch.batchId, index, String(opened?.args.challengeId ?? ''), result.hash)
      challengedByMe.add(index)
      metrics.inc('challenges_total')
      metrics.inc('gas_used_total', { function: 'challenge' }, Number(result.gasUsed))
      log(
        `challenged receipt ${index} of batch ${batch.batchId}: node claimed ${receipt.outputHash.slice(0, 10)}…, re-execution gives ${recomputed.slice(0, 10)}…`,
      )
    }
    let attestTx: Hex | null = null
    // It attests what it checked and found right, which must hold its whole assignment but for the
    // leaves it challenged (decoys, wrong outputs, unavailable data: Settlement checks it opened those
    // challenges); one assigned nothing attests only quorum receipts it checked, unpaid.
    const matchedSet = new Set(matched)
    const coversAssignment = assigned.length > 0 && assigned.every((i) => matchedSet.has(i) || challengedByMe.has(i))
    // Assigned nothing: it still attests the quorum receipts it re-executed (unpaid: a quorum receipt
    // needs attestations from every verifier that checked it, not only from those assigned something).
    const unpaidQuorum = assigned.length === 0 && matched.some((i) => receipts[i]!.mode >= 0x80)
    if (!coversAssignment && !unpaidQuorum && matched.length > 0 && !recheckOnly)
      log(
        `batch ${batch.batchId}: ${assigned.length === 0 ? 'nothing assigned to this verifier' : 'a receipt of its assignment did not check out'}; not attested`,
      )
    if ((coversAssignment || unpaidQuorum) && !recheckOnly) {
      try {
        const result = await sender.write({
          address: book.contracts.settlement,
          abi: settlementAbi,
          functionName: 'attest',
          args: [
            BigInt(batch.batchId),
            bitmapOf(matched, batch.count),
            packTags([...matched].sort((a, b) => a - b).map((i) => executionTag(secrets.get(i)!, account.address, batch.batchId, i))),
          ],
        })
        attestTx = result.hash
        metrics.inc('attestations_total')
        metrics.inc('gas_used_total', { function: 'attest' }, Number(result.gasUsed))
      } catch (error) {
        // Attestations close with the window (and with the seed: a commit more than 256 blocks old
        // whose seed nobody anchored): a batch checked too late is done, unattested.
        // (And a leaf of its assignment another verifier challenged first, which it did not: refused,
        // SelectionNotCovered; nothing to retry.)
        const closing = ['ChallengeWindowClosed', 'SeedExpired', 'SelectionNotCovered']
        if (!(error instanceof ContractRevertError && closing.includes(error.errorName))) throw error
        log(`batch ${batch.batchId}: not attested (${error.errorName})`)
      }
    }
    // A recheck of published data keeps the batch's figures from its first pass (and its attestation).
    store.done(
      batch.batchId,
      recheckOnly
        ? { checked: batch.checked, matched: batch.matched, attestTx: batch.attestTx }
        : { checked: picked.length, matched: matched.length, attestTx },
    )
    log(
      recheckOnly
        ? `batch ${batch.batchId}: attested before; re-executed ${executed} receipt(s) whose input was published on-chain, ${matched.length} matched`
        : `batch ${batch.batchId}: selected ${picked.length} of ${batch.count}, re-executed ${executed}, ${matched.length} matched${attestTx ? ', attested' : ''}`,
    )
  }

  /** Receipts of a batch a node published on-chain answering availability challenges (with their proofs). */
  type PublishedLeaf = { index: number; receipt: unknown; proof: Hex[] }
  const publishedKey = (batchId: number) => `published_receipts:${batchId}`
  function publishedLeaves(batchId: number): PublishedLeaf[] {
    const raw = store.getMeta(publishedKey(batchId))
    return raw === undefined ? [] : (JSON.parse(raw) as PublishedLeaf[])
  }

  /**
   * A batch whose data the node does not serve (issue 13, whole-batch withholding). Before
   * `dataChallengeAtMs`: false (retried). Then, once: an availability challenge (by position only,
   * which needs nothing the node withholds) of each receipt this verifier's selection picks — as if
   * every receipt were optimistic, since the modes are withheld too, and at least one — so the node
   * must publish each leaf, its proof, request and input, or lose it. A batch reopened by published
   * leaves re-executes them from the chain and challenges a wrong output. A withheld batch is never
   * attested: nobody could check it, so nobody is paid for it (its verifier share is burned).
   */
  async function verifyWithheld(batch: VerifierBatch): Promise<boolean> {
    const leaves = publishedLeaves(batch.batchId)
    const flag = `availability_challenged:${batch.batchId}`
    if (leaves.length === 0 && store.getMeta(flag) === undefined) {
      if ((await chainTimeMs()) < dataChallengeAtMs(batch)) return false
      const modes = new Array<number>(batch.count).fill(1)
      let picked = selectReceipts(batch.blockHash, account.address, batch.batchId, modes, await selectionFor(batch))
      if (picked.length === 0) picked = [Number(selectionDraw(batch.blockHash, account.address, batch.batchId, 0) % BigInt(batch.count))]
      // One transaction (Settlement's multicall) for the whole sample: every challenge must open
      // before `window − dataResponseTime`, and one slow transaction per leaf could miss it.
      const taken = new Set((await challengesOpened(batch)).map((e) => e.args.receiptIndex))
      const open = picked.filter((index) => !taken.has(index))
      if (open.length > 0) {
        await approveBonds()
        try {
          const result = await sender.write({
            address: book.contracts.settlement,
            abi: settlementAbi,
            functionName: 'multicall',
            args: [
              open.map((index) =>
                encodeFunctionData({ abi: settlementAbi, functionName: 'challengeAvailability', args: [BigInt(batch.batchId), index] }),
              ),
            ],
          })
          metrics.inc('challenges_total', { kind: 'availability' }, open.length)
          metrics.inc('gas_used_total', { function: 'challengeAvailability' }, Number(result.gasUsed))
          log(`batch ${batch.batchId}: data withheld; challenged the availability of receipts ${open.join(', ')}`)
        } catch (error) {
          // Too late for a data challenge (the node could answer after the window), or a leaf overturned meanwhile.
          if (
            !(
              error instanceof ContractRevertError &&
              ['DataChallengeTooLate', 'AlreadyOverturned', 'ChallengeWindowClosed', 'BatchAlreadyFinalized'].includes(error.errorName)
            )
          )
            throw error
          log(`batch ${batch.batchId}: availability challenges refused: ${error.errorName}`)
        }
      }
      store.setMeta(flag, String(picked.length))
      store.done(batch.batchId, { checked: 0, matched: 0, attestTx: null })
      return true
    }
    const checkedBefore = new Set((store.getMeta(`${flag}:rechecked`) ?? '').split(',').filter(Boolean).map(Number))
    for (const leaf of leaves) {
      if (checkedBefore.has(leaf.index)) continue
      const receipt = receiptFromWire(leaf.receipt, `published receipt ${leaf.index}`)
      const published = store.publishedInput(receipt.inputHash)
      if (published === undefined) continue
      const model = await models.load(receipt.modelId)
      const wireInputs = publishedInputsToWire(model, published)
      const inputs = inputsFromWire(model, wireInputs)
      const runStarted = performance.now()
      const outputs = runQuantized(model, inputs).outputs
      const recomputed = tensorsHash(outputs)
      const computeMs = performance.now() - runStarted
      const matched = recomputed === receipt.outputHash
      store.recordCheck({
        batchId: batch.batchId,
        index: leaf.index,
        inferenceId: hashReceipt(receipt, domain),
        mode: receipt.mode,
        computeMs,
        matched,
        atMs: Date.now(),
      })
      checkedBefore.add(leaf.index)
      store.setMeta(`${flag}:rechecked`, [...checkedBefore].join(','))
      if (matched || (await alreadyChallenged(batch, leaf.index, 'execution'))) continue
      store.saveGameInput(receipt.inputHash, JSON.stringify(wireInputs))
      store.recordEvidence({
        batchId: batch.batchId,
        index: leaf.index,
        receiptJson: JSON.stringify(leaf.receipt),
        claimed: receipt.outputHash,
        recomputed,
      })
      await approveBonds()
      const result = await sender.write({
        address: book.contracts.settlement,
        abi: settlementAbi,
        functionName: 'challenge',
        args: [BigInt(batch.batchId), receipt, leaf.index, leaf.proof],
      })
      const [opened] = parseEventLogs({ abi: settlementAbi, eventName: 'ChallengeOpened', logs: result.receipt.logs })
      store.challenged(batch.batchId, leaf.index, String(opened?.args.challengeId ?? ''), result.hash)
      metrics.inc('challenges_total')
      log(
        `challenged receipt ${leaf.index} of withheld batch ${batch.batchId} (published on-chain): re-execution gives ${recomputed.slice(0, 10)}…`,
      )
    }
    store.done(batch.batchId, { checked: checkedBefore.size, matched: 0, attestTx: null })
    return true
  }

  /**
   * What this verifier re-executes in a batch: its assignment, fixed by Settlement at the commit (the
   * node's adaptive rate P — issue 14: from its stake, exposure, commits and overturned receipts —
   * spread over the V active verifiers, so that with all of them honest a receipt is checked with
   * probability ≥ P), and more with its own fixed `sampleRate`.
   */
  function selectionFor(batch: VerifierBatch): Promise<Selection> {
    return verifierSelection(chain, book, batch.batchId, options.sampleRate)
  }

  /**
   * Once a node reveals a batch's decoy salt: every decoy position must hold a decoy. A missing one
   * (the node skipped its forced errors, which would shield lazy verifiers) is proved on-chain: the
   * node is slashed and this verifier takes the bounty. Bounded fetch of the batch data, as always.
   */
  /** The decoy commitment a node serves beside a batch's receipts (bytes32; the root must rebuild with it). */
  function decoyCommitFrom(data: { decoyCommit?: unknown }, batch: VerifierBatch): Hex {
    const commit = data.decoyCommit
    if (typeof commit !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(commit))
      throw new Error(`batch ${batch.batchId}: no decoy commitment (bytes32) served beside the receipts`)
    return commit.toLowerCase() as Hex
  }

  async function checkDecoys(batchId: number, salt: Hex): Promise<void> {
    const batch = store.get(batchId)
    if (!batch || book.params.decoyRateBps === 0) return
    const data = (await fetchJson(batch.dataUri, { ...batchLimits, signal: stopping.signal })) as {
      receipts?: { receipt: unknown }[]
      decoyCommit?: unknown
    }
    if (!Array.isArray(data?.receipts) || data.receipts.length !== batch.count) return
    const receipts = data.receipts.map((r, i) => receiptFromWire(r.receipt, `receipts[${i}]`))
    const tree = buildBatchTree(
      receipts.map((r) => hashReceipt(r, domain)),
      decoyCommitFrom(data, batch),
    )
    if (tree.root !== batch.root) return
    for (const d of decoyPositions(salt, batch.count, book.params.decoyRateBps)) {
      if (receipts[d.position]!.outputHash === decoyOutputHashOf(d.secret)) continue
      try {
        const result = await sender.write({
          address: book.contracts.settlement,
          abi: settlementAbi,
          functionName: 'proveDecoy',
          args: [BigInt(batchId), d.decoy, salt, receipts[d.position]!, tree.proof(d.position)],
        })
        metrics.inc('gas_used_total', { function: 'proveDecoy' }, Number(result.gasUsed))
        log(`batch ${batchId}: decoy ${d.decoy} missing at leaf ${d.position}; the node was slashed`)
      } catch (error) {
        // Another verifier proved it first.
        if (!(error instanceof ContractRevertError && error.errorName === 'AlreadyOverturned')) throw error
      }
    }
  }

  /**
   * Whether anyone has challenged receipt `index` of the batch (its execution or its data): one
   * challenge per receipt is enough. Scanned from the commit's block (nothing about the batch
   * precedes it), in bounded ranges.
   */
  async function alreadyChallenged(batch: VerifierBatch, index: number, kind: 'any' | 'execution' = 'any'): Promise<boolean> {
    const ignored = new Set<bigint>()
    if (kind === 'execution') {
      const data = await scanLogs(chain, {
        fromBlock: BigInt(batch.blockNumber),
        fetch: (range) =>
          chain.publicClient.getContractEvents({
            address: book.contracts.settlement,
            abi: settlementAbi,
            eventName: 'DataChallenged',
            args: { batchId: BigInt(batch.batchId) },
            ...range,
            strict: true,
          }),
      })
      for (const e of data) if (e.args.receiptIndex === index) ignored.add(e.args.challengeId)
    }
    const counts = (e: { args: { receiptIndex?: number | undefined; challengeId?: bigint | undefined } }) =>
      e.args.receiptIndex === index && !ignored.has(e.args.challengeId!)
    return (await challengesOpened(batch, (events) => events.some(counts))).some(counts)
  }

  /** The batch's `ChallengeOpened` events, scanned from its commit block (in bounded ranges); `stopWhen` ends the scan early. */
  function challengesOpened(
    batch: VerifierBatch,
    stopWhen?: (events: { args: { receiptIndex?: number | undefined; challengeId?: bigint | undefined } }[]) => boolean,
  ) {
    return scanLogs(chain, {
      fromBlock: BigInt(batch.blockNumber),
      fetch: (range) =>
        chain.publicClient.getContractEvents({
          address: book.contracts.settlement,
          abi: settlementAbi,
          eventName: 'ChallengeOpened',
          args: { batchId: BigInt(batch.batchId) },
          ...range,
        }),
      ...(stopWhen ? { done: stopWhen } : {}),
    })
  }

  /** Data challenges past their response deadline, unanswered: expiring them overturns the receipt (the challenger is paid). */
  let expiring = false
  async function expireDue(): Promise<void> {
    if (expiring || !store.hasOpenDataChallenges()) return
    expiring = true
    try {
      for (const id of store.dataChallengesDue(Math.floor((await chainTimeMs()) / 1000))) {
        try {
          const result = await sender.write({
            address: book.contracts.settlement,
            abi: settlementAbi,
            functionName: 'expireChallenge',
            args: [BigInt(id)],
          })
          metrics.inc('gas_used_total', { function: 'expireChallenge' }, Number(result.gasUsed))
          log(`data challenge ${id}: not answered in time; expired (the receipt is overturned)`)
        } catch (error) {
          // Answered, or expired by someone else: nothing to do. Otherwise retried next round: the chain's
          // next block not yet past the deadline (the clock runs ahead of it), or the RPC failed.
          if (!(error instanceof ContractRevertError && error.errorName === 'ChallengeNotOpen')) {
            if (!(error instanceof ContractRevertError && error.errorName === 'DisputeStillRunning'))
              log(`data challenge ${id}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`)
            continue
          }
        }
        store.closeDataChallenge(id)
      }
    } finally {
      expiring = false
    }
  }

  /** Challenges the data behind a receipt (once per receipt, by anyone), with a bond. */
  /** Challenges the data of a receipt; whether this verifier challenged it (now or in an earlier pass). */
  async function challengeData(batch: VerifierBatch, receipt: Receipt, index: number, tree: ReceiptTree, why: string): Promise<boolean> {
    if (store.evidence(batch.batchId, index)?.challengeId) return true
    if (await alreadyChallenged(batch, index)) return false
    await approveBonds()
    store.recordEvidence({
      batchId: batch.batchId,
      index,
      receiptJson: JSON.stringify(receiptToWire(receipt)),
      claimed: receipt.outputHash,
      recomputed: '0x',
    })
    const result = await sender.write({
      address: book.contracts.settlement,
      abi: settlementAbi,
      functionName: 'challengeData',
      args: [BigInt(batch.batchId), receipt, index, tree.proof(index)],
    })
    const [opened] = parseEventLogs({ abi: settlementAbi, eventName: 'ChallengeOpened', logs: result.receipt.logs })
    store.challenged(batch.batchId, index, String(opened?.args.challengeId ?? ''), result.hash)
    metrics.inc('challenges_total', { kind: 'data' })
    log(`challenged the data of receipt ${index} of batch ${batch.batchId}: ${why}`)
    return true
  }

  async function approveBonds(): Promise<void> {
    if (approved) return
    await sender.write({
      address: book.contracts.token,
      abi: verityTokenAbi,
      functionName: 'approve',
      args: [book.contracts.settlement, 2n ** 255n],
    })
    approved = true
  }

  /** One attempt at a batch; a failure schedules the next one with backoff, until the batch's challenge window ends. */
  async function attempt(batch: VerifierBatch): Promise<void> {
    try {
      await processBatch(batch)
    } catch (error) {
      const message = error instanceof Error ? error.message.split('\n')[0]! : String(error)
      const backoff = Math.min(retryMaxMs, retryFirstMs * 2 ** Math.min(batch.attempts, 30))
      // An input still unavailable when its data is due to be challenged is challenged then, not a backoff later.
      const untilDataChallenge = dataChallengeAtMs(batch) - (await chainTimeMs().catch(() => Date.now()))
      const delay = untilDataChallenge > 0 ? Math.min(backoff, Math.max(retryFirstMs, untilDataChallenge)) : backoff
      // Nothing can be attested or challenged after the window: retrying past it is pointless. (The
      // window is on the chain's clock; when the chain cannot be read, retry.)
      const over = await windowEndMs(batch)
        .then(async (endsAtMs) => (await chainTimeMs()) + delay >= endsAtMs)
        .catch(() => false)
      const retryAt = over ? undefined : Date.now() + delay
      store.failed(batch.batchId, message, retryAt)
      log(
        `batch ${batch.batchId}: ${message}${retryAt === undefined ? ' (its challenge window is over: giving up)' : ` (retrying in ${delay} ms)`}`,
      )
    }
  }

  /** When an input still unavailable is challenged on-chain (`dataChallengeDelay` after the commit). */
  function dataChallengeAtMs(batch: VerifierBatch): number {
    return (batch.committedAt + dataChallengeDelay(book.params)) * 1000
  }

  let challengeWindowS: number | undefined
  async function windowEndMs(batch: VerifierBatch): Promise<number> {
    challengeWindowS ??= Number(await contracts.settlement.read.challengeWindow())
    return (batch.committedAt + challengeWindowS) * 1000
  }
  /**
   * The chain's time as the next block will carry it: the latest block's timestamp, or the clock when
   * it is later (a chain that mines only on transactions, like the devnet's, stands still while idle).
   */
  async function chainTimeMs(): Promise<number> {
    return Math.max(Date.now(), Number((await chain.publicClient.getBlock({ blockTag: 'latest' })).timestamp) * 1000)
  }

  /** Aborts the fetches in flight when the verifier stops (a tarpit must not hold up shutdown). */
  const stopping = new AbortController()
  /** Batches being verified, by batch id, with the node each belongs to. */
  const inFlight = new Map<number, { node: string; run: Promise<void> }>()
  /** Starts due batches while the pool has room, at most one per node; does not wait for them. */
  function pump(): void {
    while (inFlight.size < concurrency) {
      const busy = [...inFlight.values()].map((f) => f.node)
      const batch = store.nextToProcess(Date.now(), busy)
      if (!batch) return
      const run = attempt(batch).finally(() => inFlight.delete(batch.batchId))
      inFlight.set(batch.batchId, { node: batch.node, run })
    }
  }

  /** Verifies every batch due now (and those that become due as others finish); batches waiting on a backoff are not awaited. */
  const drain = async () => {
    for (;;) {
      pump()
      if (inFlight.size === 0) return
      await Promise.race([...inFlight.values()].map((f) => f.run))
    }
  }

  const app = new Hono()
  app.onError((error, c) => c.json(errorBody(error), httpStatusOf(error) as 400))
  app.get('/healthz', (c) =>
    c.json({ ok: true, role: 'verifier', verifier: account.address, sampleRate: options.sampleRate ?? 'adaptive', ...store.stats() }),
  )
  app.get('/metrics', (c) => c.text(metrics.render(), 200, { 'content-type': 'text/plain; version=0.0.4' }))
  // Every re-execution, in order: what an indexer follows (`after` = the last `seq` seen).
  app.get('/v1/checks', (c) => {
    const { after, limit } = feedQuery((name) => c.req.query(name), 'check')
    const checks = store.checksAfter(after, limit)
    return c.json({ checks, next: checks.at(-1)?.seq ?? after })
  })

  return {
    address: account.address,
    app,
    store,
    metrics,
    drain,
    start() {
      games.start()
      follower = followEvents({
        chain,
        abi: settlementAbi,
        address: book.contracts.settlement,
        fromBlock: book.deployedAtBlock,
        pollIntervalMs: chain.kind === 'embedded' ? 100 : 1000,
        cursor: {
          load: () => ((v) => (v === undefined ? undefined : BigInt(v)))(store.getMeta('settlement_cursor')),
          save: (block) => store.setMeta('settlement_cursor', block.toString()),
        },
        onError: (error) => log(`verifier watcher: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`),
        async onLogs(logs) {
          for (const event of logs) {
            if (event.eventName === 'DecoysRevealed') {
              const { batchId, salt } = event.args
              // In the background: a slow node must not hold up the event follower.
              void checkDecoys(Number(batchId), salt).catch((error: unknown) =>
                log(`batch ${batchId}: decoy check failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`),
              )
              continue
            }
            if (event.eventName === 'DataChallenged') {
              store.addDataChallenge(String(event.args.challengeId), Number(event.args.deadline))
              continue
            }
            if (event.eventName === 'ReceiptPublished') {
              // A withheld leaf published on-chain with its proof: kept until the batch is re-verified.
              const batchId = Number(event.args.batchId)
              const leaves = publishedLeaves(batchId).filter((l) => l.index !== event.args.receiptIndex)
              leaves.push({ index: event.args.receiptIndex, receipt: receiptToWire(event.args.receipt), proof: [...event.args.proof] })
              store.setMeta(publishedKey(batchId), JSON.stringify(leaves))
              continue
            }
            if (event.eventName === 'DataPublished') {
              // Withheld data published on-chain: the batch is verified again from it (the output may still be wrong).
              store.closeDataChallenge(String(event.args.challengeId))
              store.savePublishedInput(tensorsHash(event.args.inputs.map(int16FromHex)), event.args.inputs)
              if (store.get(Number(event.args.batchId))) store.reopen(Number(event.args.batchId))
              continue
            }
            if (event.eventName !== 'BatchCommitted') continue
            const block = await chain.publicClient.getBlock({ blockNumber: event.blockNumber })
            store.addBatch({
              batchId: Number(event.args.batchId),
              node: event.args.node,
              root: event.args.root,
              count: event.args.count,
              dataUri: event.args.dataURI,
              blockHash: event.blockHash,
              blockNumber: Number(event.blockNumber),
              committedAt: Number(block.timestamp),
            })
          }
        },
      })
      const loop = async () => {
        try {
          pump()
        } catch (error) {
          log(`verifier: ${(error as Error).message}`)
        }
        void expireDue().catch((error: unknown) => log(`verifier: ${(error as Error).message?.split('\n')[0]}`))
        if (timer !== undefined) timer = setTimeout(loop, 200)
      }
      timer = setTimeout(loop, 200)
    },
    async stop() {
      if (timer) clearTimeout(timer)
      timer = undefined
      await games.stop()
      await follower?.stop()
      stopping.abort()
      await Promise.all([...inFlight.values()].map((f) => f.run))
      store.close()
    },
  }
}
