import { type AddressBook, type Chain, type EventFollower, followEvents, scanLogs, TxSender, verityContracts } from '@verity/chain'
import {
  BatchStatus,
  buildReceiptTree,
  decodeMode,
  GamePhase,
  hashReceipt,
  inputsFromWire,
  receiptFromWire,
  settlementAbi,
  verityTokenAbi,
} from '@verity/contracts'
import {
  challengerMove,
  createGameResponder,
  type GameHistory,
  type GameMove,
  type GameState,
  stepMove,
  type TraceView,
  traceView,
} from '@verity/dispute'
import { runQuantized, seededRandom, tensorsHash } from '@verity/runtime'
import { Hono } from 'hono'
import { type Hex, parseEventLogs } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { errorBody, httpStatusOf } from './errors.js'
import { feedQuery } from './feedQuery.js'
import { COMPUTE_BUCKETS, Metrics } from './metrics.js'
import { ModelCache } from './modelCache.js'
import { bitmapOf, selectionSeed, selectReceipts } from './selection.js'
import { type VerifierBatch, VerifierStore } from './verifierStore.js'

export type VerifierOptions = {
  chain: Chain
  book: AddressBook
  key: Hex
  dbPath: string
  hubUrl: string
  /** Share of optimistic receipts re-executed (default 0.1); quorum receipts are always checked. */
  sampleRate?: number
  /** Give up on a batch whose data stays unavailable after this many attempts (default 20). */
  maxAttempts?: number
  /**
   * A deliberately false challenger (tests and demos only): challenges this share of the receipts it
   * found correct, then plays its games at random. It loses them and its bonds.
   */
  falseChallengeRate?: number
  log?(line: string): void
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
export function createVerifier(options: VerifierOptions): Verifier {
  const { chain, book } = options
  const log = options.log ?? (() => {})
  const account = privateKeyToAccount(options.key)
  const store = new VerifierStore(options.dbPath)
  const models = new ModelCache(options.hubUrl)
  const sender = new TxSender({ chain, account: options.key })
  const contracts = verityContracts(chain, book)
  const rate = options.sampleRate ?? 0.1
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
  let working: Promise<void> | undefined
  let approved = false
  const falseRandom = seededRandom(7)
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
      const model = await models.get(game.modelId)
      return traceView(model, runQuantized(model, inputsFromWire(model, JSON.parse(body)), { trace: true }).trace!)
    },
    ...(options.falseChallengeRate ? { decide: falseChallengerMove } : {}),
  })

  /** The false challenger's moves: random sides, then a one-step on whatever value it reached. */
  function falseChallengerMove(game: GameState, history: GameHistory, view: TraceView): GameMove | undefined {
    if (game.phase === GamePhase.choose) return { functionName: 'choose', args: [falseRandom() < 0.5] }
    if (game.phase === GamePhase.awaitStep && history.chunk) return stepMove(game, view, history, 0)
    return challengerMove(game, view, history)
  }

  async function processBatch(batch: VerifierBatch): Promise<void> {
    const onChain = await contracts.settlement.read.getBatch([BigInt(batch.batchId)])
    // Already attested (a restart after the transaction was mined) or settled: nothing left to send.
    const attested = Number(await contracts.settlement.read.attestationOf([BigInt(batch.batchId), account.address]))
    if (onChain.status === BatchStatus.finalized || attested > 0) {
      store.done(batch.batchId, { checked: attested, matched: attested, attestTx: null })
      return
    }
    const response = await fetch(batch.dataUri)
    if (!response.ok) throw new Error(`batch data at ${batch.dataUri} answered ${response.status}`)
    const data = (await response.json()) as { receipts: { receipt: unknown }[] }
    const receipts = data.receipts.map((r, i) => receiptFromWire(r.receipt, `receipts[${i}]`))
    // The receipts' ids and their tree, computed once: checked against the root, then used for checks and challenges.
    if (receipts.length !== batch.count)
      throw new Error(`batch ${batch.batchId}: ${receipts.length} receipts served for ${batch.count} committed`)
    const ids = receipts.map((r) => hashReceipt(r, domain))
    const tree = buildReceiptTree(ids)
    if (tree.root !== batch.root) throw new Error(`batch ${batch.batchId}: the served receipts do not hash to the committed root`)
    const picked = selectReceipts(
      selectionSeed(batch.blockHash, account.address, batch.batchId),
      receipts.map((r) => r.mode),
      rate,
    )
    const origin = new URL(batch.dataUri).origin
    const matched: number[] = []
    for (const index of picked) {
      const receipt = receipts[index]!
      const model = await models.get(receipt.modelId)
      const answer = await fetch(`${origin}/v1/data/${receipt.inputHash}`)
      if (!answer.ok) throw new Error(`input ${receipt.inputHash} unavailable at ${origin} (${answer.status})`)
      const wireInputs = ((await answer.json()) as { inputs: unknown }).inputs
      const inputs = inputsFromWire(model, wireInputs)
      if (tensorsHash(inputs) !== receipt.inputHash)
        throw new Error(`input served for ${receipt.inputHash} hashes to ${tensorsHash(inputs)}`)
      const runStarted = performance.now()
      const recomputed = tensorsHash(runQuantized(model, inputs).outputs)
      const computeMs = performance.now() - runStarted
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
      const falseChallenge = options.falseChallengeRate !== undefined && falseRandom() < options.falseChallengeRate
      if (recomputed === receipt.outputHash && !falseChallenge) {
        matched.push(index)
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
      if (store.evidence(batch.batchId, index)?.challengeId) continue
      // One game per receipt is enough: another verifier's open or decided challenge covers it.
      // (A challenge of this batch cannot precede its commit: scanned from the commit's block, in bounded ranges.)
      const others = await scanLogs(chain, {
        fromBlock: BigInt(batch.blockNumber),
        fetch: (range) =>
          chain.publicClient.getContractEvents({
            address: book.contracts.settlement,
            abi: settlementAbi,
            eventName: 'ChallengeOpened',
            args: { batchId: BigInt(batch.batchId) },
            ...range,
          }),
        done: (found) => found.some((e) => e.args.receiptIndex === index),
      })
      if (others.some((e) => e.args.receiptIndex === index)) {
        log(`receipt ${index} of batch ${batch.batchId} is already challenged; not challenging it again`)
        continue
      }
      if (!approved) {
        await sender.write({
          address: book.contracts.token,
          abi: verityTokenAbi,
          functionName: 'approve',
          args: [book.contracts.settlement, 2n ** 255n],
        })
        approved = true
      }
      const result = await sender.write({
        address: book.contracts.settlement,
        abi: settlementAbi,
        functionName: 'challenge',
        args: [BigInt(batch.batchId), receipt, index, tree.proof(index)],
      })
      const [opened] = parseEventLogs({ abi: settlementAbi, eventName: 'ChallengeOpened', logs: result.receipt.logs })
      store.challenged(batch.batchId, index, String(opened?.args.challengeId ?? ''), result.hash)
      metrics.inc('challenges_total')
      metrics.inc('gas_used_total', { function: 'challenge' }, Number(result.gasUsed))
      log(
        `challenged receipt ${index} of batch ${batch.batchId}: node claimed ${receipt.outputHash.slice(0, 10)}…, re-execution gives ${recomputed.slice(0, 10)}…`,
      )
    }
    let attestTx: Hex | null = null
    if (matched.length > 0) {
      const result = await sender.write({
        address: book.contracts.settlement,
        abi: settlementAbi,
        functionName: 'attest',
        args: [BigInt(batch.batchId), bitmapOf(matched, batch.count)],
      })
      attestTx = result.hash
      metrics.inc('attestations_total')
      metrics.inc('gas_used_total', { function: 'attest' }, Number(result.gasUsed))
    }
    store.done(batch.batchId, { checked: picked.length, matched: matched.length, attestTx })
    log(`batch ${batch.batchId}: re-executed ${picked.length} of ${batch.count}, ${matched.length} matched${attestTx ? ', attested' : ''}`)
  }

  async function work(): Promise<void> {
    for (let batch = store.nextToProcess(); batch; batch = store.nextToProcess()) {
      try {
        await processBatch(batch)
      } catch (error) {
        const message = error instanceof Error ? error.message.split('\n')[0]! : String(error)
        const giveUp = batch.attempts + 1 >= (options.maxAttempts ?? 20)
        store.failed(batch.batchId, message, giveUp)
        log(`batch ${batch.batchId}: ${message}${giveUp ? ' (giving up)' : ' (will retry)'}`)
        return
      }
    }
  }

  const drain = async () => {
    while (working) await working
    working = work().finally(() => {
      working = undefined
    })
    await working
  }

  const app = new Hono()
  app.onError((error, c) => c.json(errorBody(error), httpStatusOf(error) as 400))
  app.get('/healthz', (c) => c.json({ ok: true, role: 'verifier', verifier: account.address, sampleRate: rate, ...store.stats() }))
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
        if (!working) await drain().catch((error) => log(`verifier: ${(error as Error).message}`))
        if (timer !== undefined) timer = setTimeout(loop, 200)
      }
      timer = setTimeout(loop, 200)
    },
    async stop() {
      if (timer) clearTimeout(timer)
      timer = undefined
      await games.stop()
      await follower?.stop()
      while (working) await working
      store.close()
    },
  }
}
