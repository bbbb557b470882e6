import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { getRequestListener, type ServerType } from '@hono/node-server'
import { type AddressBook, type Chain, listenUrl, TxSender, verityContracts } from '@verity/chain'
import { decoyCommitOf, describeValue, inputsFromWire, NO_DECOYS_SALT, trustOf } from '@verity/contracts'
import type { GameResponder } from '@verity/dispute'
import { nodeOpenApi } from '@verity/protocol'
import type { LoadedModel } from '@verity/runtime'
import { createModelLoader, ModelFetchFailedError } from '@verity/sdk'
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { Batcher, batchTreeOf } from './batcher.js'
import { watchOwnBatches } from './chainWatcher.js'
import { type CheckpointStats, createCheckpointer, WAL_SAFETY_NET_PAGES } from './checkpointer.js'
import { type DataResponderContext, respondToDataChallenges } from './dataResponder.js'
import { createDecoyClientPool, type DecoyClientCosts, type DecoyClientPoolOptions } from './decoyClientPool.js'
import { createDecoyFactory } from './decoyFactory.js'
import { createDefense, type DefenseContext } from './defense.js'
import { ApiError, badRequest, bigintReplacer, errorBody, httpStatusOf } from './errors.js'
import { createEscrowBook } from './escrowBook.js'
import { feedQuery } from './feedQuery.js'
import { answerRequest } from './infer/answerRequest.js'
import { authoriseRequest } from './infer/authoriseRequest.js'
import { type Executor, honestExecutor } from './infer/executeRequest.js'
import { parseInferRequest } from './infer/parseInferRequest.js'
import { priceRequest } from './infer/priceRequest.js'
import { runsInline } from './infer/runsInline.js'
import { defaultRunWorkers, runWorkersFor } from './infer/runWorkersFor.js'
import { storeInference } from './infer/storeInference.js'
import { COMPUTE_BUCKETS, GAP_BUCKETS, Metrics } from './metrics.js'
import { type ReceiptSink, receiptSinkInThread } from './receiptSink.js'
import { type BatchEvent, ReceiptStore } from './receiptStore.js'
import { createRunPool } from './runPool.js'
import { batchTrustOf, chainStateIn, chainStateOf, receiptLevels } from './storedTrust.js'
import { createWriterThread } from './writerThread.js'

export type InferenceNodeOptions = {
  chain: Chain
  book: AddressBook
  /** The node's private key (its stake and receipts are tied to this account). */
  key: Hex
  dbPath: string
  hubUrl: string
  /** URL under which verifiers reach this node (default: the URL it listens on). */
  publicUrl?: string
  /** Fee charged per inference, in token base units (default 10^15 = 0.001 token). */
  price?: bigint
  batch?: { maxSize?: number; maxAgeMs?: number }
  /** When to redeem a client's channel (default: once it owes 100 fees, or its best voucher is 10 minutes old). */
  redeem?: { minAmount: bigint; maxAgeMs: number }
  /** Settle own batches after their window (default true). */
  finalize?: boolean
  maxBodyBytes?: number
  /**
   * Worker threads that may run the models (default: one per core, at most 8: `defaultRunWorkers`; 0
   * runs them on the event loop). Used only with the honest executor. The runtime's intermediate
   * tensors then never reach the event loop's heap, whose full collections otherwise grow under load
   * (docs/benchmarks.md, "Second pass"). A quick model's requests share one of them, a slow model's
   * spread over all (`spreadRunMs`); the first starts with the node, the others when a request first
   * needs them.
   */
  runWorkers?: number
  /**
   * A model whose fastest recent run took at least this many ms has its requests spread over every
   * run worker; a quicker one's share one (default 1; `runWorkersFor`).
   */
  spreadRunMs?: number
  /**
   * A request alone in the node (no other being answered) runs its model on the event loop when the
   * fastest of the model's last 8 runs took at most this many ms (default 1; 0: always in a worker): alone, it would
   * otherwise wait for a message to a worker and back (docs/benchmarks.md, "Fourth pass"), while a
   * slow model still never holds the event loop.
   */
  inlineRunMaxMs?: number
  /**
   * Receipts are written (group commit, SQLite's WAL checkpoints, the fsync callbacks) by a worker
   * thread of their own instead of on the event loop (default false: in the load bench the thread's
   * extra hand-offs cost more than the event loop's transactions and checkpoints did;
   * docs/benchmarks.md, "Fourth pass").
   */
  writerThread?: boolean
  /**
   * The WAL is copied into the database file by a thread of its own (default true), not inside a
   * commit on the thread that writes (docs/benchmarks.md, "Sixth pass").
   */
  checkpointer?: boolean
  /**
   * The page cache of the node's SQLite connection that writes receipts, MB (default 64). Each receipt
   * inserts into indexes on random keys (its id, its inputs' hash): once they outgrow the cache, each
   * insert reads their pages back (docs/benchmarks.md, "Ninth pass").
   */
  sqliteCacheMb?: number
  /**
   * Decoy clients that look like clients (docs/protocol.md, "Decoys"): a pool of single-use client
   * keys funded by `funder` (a private key the operator pays from), each with its own escrow and a
   * few paid canary requests before it signs a decoy. Without it decoys are signed by keys derived
   * from the node's key (`DECOY_CLIENTS`), which a careful verifier tells apart.
   */
  decoyClients?: Omit<DecoyClientPoolOptions, 'chain' | 'book' | 'store' | 'price' | 'node' | 'domain' | 'model' | 'postInfer' | 'log'>
  log?(line: string): void
}

/**
 * The parts a node is composed of that another role may replace (an adversary wraps the honest
 * node this way; see @verity/adversary). By default: the integer runtime and the honest defender.
 */
export type InferenceNodeParts = {
  /** Runs a request's inputs through its model (default: the integer runtime). */
  executor?: Executor
  /** Plays the node's side of dispute games (default: `createDefense`, which replays the stored input). */
  defender?(context: DefenseContext): GameResponder
  /**
   * Answers data challenges against its receipts on-chain (default: `respondToDataChallenges`, at
   * once). `undefined` returned: the node never answers, and loses each challenged receipt, and its
   * slash, at the response deadline.
   */
  dataResponder?(context: DataResponderContext): { stop(): Promise<void> } | undefined
}

export type InferenceNode = {
  app: Hono
  address: Hex
  store: ReceiptStore
  /** Its group-commit writer (the bench reads its flush and fsync figures). */
  writer: ReceiptSink
  /** What its checkpointer thread did since last asked (undefined without one; for the bench). */
  checkpoints(): Promise<CheckpointStats | undefined>
  /** Starts HTTP on `host` (default 127.0.0.1; 0.0.0.0 serves other machines), the batcher and the chain watcher; resolves with the URL. */
  start(port?: number, host?: string): Promise<string>
  stop(): Promise<void>
  /** Its public URL (registered on-chain; where its batches are served). */
  url(): string
  /** Where it listens on this machine (differs from `url()` when something stands in front of it). */
  localUrl(): string
  /** What its decoy clients cost so far (undefined without `decoyClients`), and decoys signed by a derived key instead. */
  decoyCosts(): (DecoyClientCosts & { fallbacks: number }) | undefined
}

/**
 * The inference node: answers `POST /v1/infer` in one round trip with the output and a signed
 * receipt (stored durably before the answer), commits receipts in batches, follows their trust on
 * chain, serves inclusion proofs and the inputs verifiers need, and settles its batches.
 */
export function createInferenceNode(options: InferenceNodeOptions, parts: InferenceNodeParts = {}): InferenceNode {
  const { chain, book } = options
  const log = options.log ?? (() => {})
  const account = privateKeyToAccount(options.key)
  const domain = { chainId: chain.chainId, settlement: book.contracts.settlement }
  const price = options.price ?? 10n ** 15n
  // With a checkpointer thread, the connections' own checkpoints are only a safety net (64 MB of WAL).
  const checkpointing = options.checkpointer !== false
  const autoCheckpointPages = checkpointing ? WAL_SAFETY_NET_PAGES : undefined
  /** Requests between their parse and their answer. */
  let answering = 0
  const cacheMb = options.sqliteCacheMb ?? 64
  const writer = options.writerThread
    ? createWriterThread(options.dbPath, { log, autoCheckpointPages, cacheMb })
    : // A lone request's receipt is synced on the event loop: no other request is there to wait for it.
      receiptSinkInThread(options.dbPath, { autoCheckpointPages, cacheMb, syncInline: () => answering <= 1 })
  // The checkpointer holds the writer (when it is on this thread) a moment to have the WAL restart.
  const checkpointer = checkpointing ? createCheckpointer(options.dbPath, { log, hold: writer.hold }) : undefined
  // The node's one connection on this thread: the receipts' writer's when it runs here. SQLite drops a
  // connection's page cache when another connection commits, so with two here each group commit made
  // the batcher's next reads cold, and each batcher or follower commit the next price check's.
  // Commits here do not fsync on their own: the steps that must be on disk sync themselves (see ReceiptStore).
  const store = writer.store ?? new ReceiptStore(options.dbPath, { syncOnCommit: false, autoCheckpointPages })
  const models = createModelLoader({ chain, book, hubs: [options.hubUrl], registeredUri: false })
  const contracts = verityContracts(chain, book)
  const sender = new TxSender({
    chain,
    account: options.key,
    onRetry: (e, n) => log(`retry ${n}: ${(e as Error).message?.split('\n')[0]}`),
  })
  const registered = new Set<string>()
  const executor = parts.executor ?? honestExecutor
  const runWorkers = options.runWorkers ?? defaultRunWorkers()
  const spreadRunMs = options.spreadRunMs ?? 1
  const runPool =
    !parts.executor && runWorkers > 0
      ? createRunPool(runWorkers, { signer: { node: account.address, key: options.key, domain }, log })
      : undefined
  const inlineRunMaxMs = options.inlineRunMaxMs ?? 1
  /** Each model's last 8 run times (ms), by artifact hash: the fastest decides whether a lone request may run it inline. */
  const recentRunMs = new Map<string, number[]>()
  const escrows = createEscrowBook({ chain, book, log })
  let publicUrl = options.publicUrl ?? ''
  let localUrl = ''
  let server: ServerType | undefined

  const metrics = new Metrics('verity_node')
  metrics.define('inferences_total', 'counter', 'Requests answered with a receipt')
  metrics.define('rejected_total', 'counter', 'Requests refused, by error code')
  metrics.define('inference_seconds_total', 'counter', 'Total time spent answering /v1/infer')
  metrics.define('batches_committed_total', 'counter', 'Batches committed on-chain')
  metrics.define('batches_finalized_total', 'counter', 'Batches finalized on-chain')
  metrics.define('gas_used_total', 'counter', 'Gas spent by this node, by function')
  metrics.define('receipts', 'gauge', 'Receipts by trust level (EXECUTED, COMMITTED, ATTESTED, DISPUTED, OVERTURNED, FINAL)')
  metrics.define('compute_seconds', 'histogram', 'Model run time per inference', COMPUTE_BUCKETS)
  metrics.define(
    'trust_gap_seconds',
    'histogram',
    'Time from a receipt (its signed issuedAt) to the block that made it ATTESTED (first attestation) or FINAL',
    GAP_BUCKETS,
  )
  metrics.define('fees_earned_vrt_total', 'counter', 'Fees redeemed from clients’ channels (before the verifiers’ share), in VRT')
  metrics.define('disputes_total', 'counter', 'Dispute games against this node, by outcome')
  metrics.define(
    'decoy_clients',
    'gauge',
    'Decoy clients by state (ready, used, recovered), and decoys signed by a derived key for want of a ready one (fallback)',
  )
  metrics.define('decoy_client_gas', 'gauge', 'Gas spent on decoy clients: funding, their deposits, withdrawals and transfers back')
  metrics.define('decoy_canaries', 'gauge', 'Paid canary requests made by decoy clients (real receipts)')

  let decoyFallbacks = 0
  // Only where batches hide decoys (a deployment with decoyRateBps 0 has no use for decoy clients).
  const decoyClients =
    options.decoyClients === undefined || book.params.decoyRateBps === 0
      ? undefined
      : createDecoyClientPool({
          ...options.decoyClients,
          chain,
          book,
          store,
          price,
          node: account.address,
          domain,
          model: (modelId) => models.load(modelId),
          // A canary is a request like any client's, through this node's own HTTP API.
          async postInfer(body) {
            const response = await fetch(`${localUrl}/v1/infer`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body,
              signal: AbortSignal.timeout(60_000),
            })
            if (response.status !== 200) throw new Error(`canary refused: ${response.status} ${(await response.text()).slice(0, 200)}`)
            await response.arrayBuffer()
          },
          log,
        })
  const batcher = new Batcher({
    chain,
    book,
    store,
    sender,
    dataUrlOf: (root) => `${publicUrl}/v1/batches/${root}`,
    maxSize: options.batch?.maxSize ?? 64,
    maxAgeMs: options.batch?.maxAgeMs ?? 2000,
    finalize: options.finalize ?? true,
    redeem: options.redeem ?? { minAmount: 100n * price, maxAgeMs: 10 * 60_000 },
    log,
    makeDecoy: createDecoyFactory({
      nodeKey: options.key,
      domain,
      modelFor: (modelId) => models.load(modelId),
      inputOf: (hash) => store.getInput(hash),
      ...(decoyClients ? { clientFor: (fee: bigint, batchKey: Hex) => decoyClients.take(fee, batchKey) } : {}),
      onFallback: () => {
        decoyFallbacks++
      },
    }),
    onRedeemed: (amount, gas) => {
      metrics.inc('fees_earned_vrt_total', {}, Number(amount / 10n ** 12n) / 1e6)
      metrics.inc('gas_used_total', { function: 'redeem' }, Number(gas))
    },
    onCommitted: (_, gas) => {
      metrics.inc('batches_committed_total')
      metrics.inc('gas_used_total', { function: 'commitBatch' }, Number(gas))
    },
    onFinalized: (_, gas) => {
      metrics.inc('batches_finalized_total')
      metrics.inc('gas_used_total', { function: 'finalize' }, Number(gas))
    },
  })
  let watcher: ReturnType<typeof watchOwnBatches> | undefined
  let dataResponder: { stop(): Promise<void> } | undefined
  const defense = (parts.defender ?? createDefense)({
    chain,
    book,
    sender,
    store,
    models,
    log,
    onResolved: (_, game) => metrics.inc('disputes_total', { outcome: game.nodeLost ? 'lost' : 'won' }),
  })

  /** Trust-gap and fee figures of a newly recorded event about one of this node's batches. */
  function observeTrust(event: BatchEvent) {
    if (event.kind !== 'attested' && event.kind !== 'finalized') return
    const batch = store.batchById(event.batchId)
    if (!batch) return
    const batchTrust = batchTrustOf(store, batch.localId)
    for (const inference of store.batchLeaves(batch.localId)) {
      // Each receipt's level and timeline as the node's API reports them.
      const { level, timeline } = trustOf(chainStateIn(batchTrust, inference))
      if (event.kind === 'finalized') {
        // A finalized batch's receipts are all FINAL but the overturned ones.
        if (level !== 'OVERTURNED') metrics.observe('trust_gap_seconds', event.at - inference.issuedAt, { level: 'FINAL' })
        continue
      }
      // ATTESTED once: when this attestation is the receipt's first.
      const first = timeline.find((e) => e.level === 'ATTESTED')
      if (first?.by === event.actor && first.at === event.at * 1000)
        metrics.observe('trust_gap_seconds', event.at - inference.issuedAt, { level: 'ATTESTED' })
    }
  }

  async function modelFor(modelId: Hex): Promise<LoadedModel> {
    if (!registered.has(modelId)) {
      if (!(await contracts.modelRegistry.read.isActive([modelId]))) {
        throw new ApiError(404, 'MODEL_NOT_FOUND', `model ${modelId} is not registered on-chain (or is deprecated)`, { modelId })
      }
      registered.add(modelId)
    }
    return models.load(modelId).catch((error: unknown) => {
      // The node loads from its own hub only: a registered model its hub does not hold is not found here.
      if (error instanceof ModelFetchFailedError && error.details.status === 404)
        throw new ApiError(404, 'MODEL_NOT_FOUND', `model ${modelId} is registered but not on this node's hub`, { modelId })
      throw error
    })
  }

  const app = new Hono()
  app.onError((error, c) => {
    const status = httpStatusOf(error)
    if (c.req.path === '/v1/infer') metrics.inc('rejected_total', { code: errorBody(error).error.code })
    if (status >= 500) log(`error on ${c.req.method} ${c.req.path}: ${error instanceof Error ? error.stack : String(error)}`)
    return c.json(errorBody(error), status as 400)
  })
  app.notFound((c) => c.json(errorBody(new ApiError(404, 'NOT_FOUND', `no route ${c.req.method} ${c.req.path}`)), 404))
  app.use(
    '*',
    bodyLimit({
      maxSize: options.maxBodyBytes ?? 1024 * 1024,
      onError: (c) => {
        metrics.inc('rejected_total', { code: 'BODY_TOO_LARGE' })
        // The rest of the upload is not read: close the connection so a keep-alive client is not left with a broken socket.
        return c.json(
          errorBody(new ApiError(413, 'BODY_TOO_LARGE', `the body is over ${options.maxBodyBytes ?? 1024 * 1024} bytes`)),
          413,
          {
            connection: 'close',
          },
        )
      },
    }),
  )

  app.get('/healthz', (c) =>
    c.json({
      ok: true,
      role: 'inference',
      node: account.address,
      chainId: chain.chainId,
      price: price.toString(),
      ...store.counts(),
    }),
  )

  // The API's OpenAPI 3.1 document, generated from the schema this node validates with (docs/openapi.json).
  const openApi = JSON.stringify(nodeOpenApi())
  app.get('/openapi.json', (c) => c.body(openApi, 200, { 'content-type': 'application/json' }))

  app.get('/metrics', (c) => {
    for (const [level, n] of Object.entries(receiptLevels(store))) metrics.set('receipts', n, { level })
    const decoyCosts = decoyClients?.costs()
    if (decoyCosts) {
      for (const state of ['ready', 'used', 'recovered'] as const) metrics.set('decoy_clients', decoyCosts[state], { state })
      metrics.set('decoy_clients', decoyFallbacks, { state: 'fallback' })
      metrics.set('decoy_client_gas', Number(decoyCosts.gasUsed))
      metrics.set('decoy_canaries', decoyCosts.canaries)
    }
    return c.text(metrics.render(), 200, { 'content-type': 'text/plain; version=0.0.4' })
  })

  app.post('/v1/infer', async (c) => {
    const { body, timing } = await answerInfer(await c.req.text())
    return c.body(body, 200, { 'content-type': 'application/json', 'server-timing': timing })
  })

  /**
   * `POST /v1/infer` on a body's text: the answer's body and its Server-Timing once the receipt is
   * durable, or throws the refusal. Served by the Hono route above and, on the node's own server, by
   * `serveInfer` straight from node:http (the hot path, without the Request/Response objects).
   */
  async function answerInfer(text: string): Promise<{ body: string; timing: string }> {
    answering++
    try {
      return await answerOne(text)
    } finally {
      answering--
    }
  }

  async function answerOne(text: string): Promise<{ body: string; timing: string }> {
    const started = performance.now()
    const timings: string[] = []
    let last = started
    const mark = (name: string) => {
      const now = performance.now()
      timings.push(`${name};dur=${(now - last).toFixed(2)}`)
      last = now
    }
    const nowMs = Date.now()
    const {
      request,
      signature,
      inputs: wireInputs,
      claimedClient,
      values,
      encoding,
    } = parseInferRequest(text, { node: account.address, nowMs })
    const model = await modelFor(request.modelId)
    mark('model')
    const { requestHash, client, claimed } = authoriseRequest({ request, signature, claimedClient, domain })
    // Decoded here (typed INPUT_* errors), hashed against the signed hash where the request is answered.
    const inputs = inputsFromWire(model, wireInputs)
    mark('authorise')
    const escrow = await escrows.available(client)
    const { fee } = priceRequest({ request, requestHash, client, price, escrow, store })
    mark('price')
    // The signature (for a client the body named), the inputs' hash, the run, the receipt: in a worker
    // thread, or here for a lone request on a fast model (no hand-off to wait for) and a custom executor.
    const job = { request, requestHash, signature, client, claimed, inputs, fee, nowMs, values, encoding }
    // The model's recent run times decide where it runs: inline when alone and quick, else in one worker or spread over all.
    const recent = recentRunMs.get(model.artifactHash) ?? []
    recentRunMs.set(model.artifactHash, recent)
    const inWorker = runPool !== undefined && !runsInline({ answering, recentRunMs: recent, maxMs: inlineRunMaxMs })
    const answer = inWorker
      ? await runPool.answer(model, job, runWorkersFor({ poolSize: runWorkers, recentRunMs: recent, spreadMinMs: spreadRunMs }))
      : answerRequest(job, { model, node: account.address, key: options.key, domain, executor })
    recent.push(answer.computeMs)
    if (recent.length > 8) recent.shift()
    mark(inWorker || !runPool ? 'answer' : 'answer-inline')
    await storeInference({
      store,
      writer,
      request,
      clientSignature: signature,
      answer,
      escrow,
      executedAtMs: nowMs,
    })
    mark('store')
    // The open batch may need a decoy now (looked at in the next turn, once this answer is written: off its path).
    batcher.noteReceipts()
    metrics.inc('inferences_total', { model: request.modelId.slice(0, 10) })
    metrics.inc('inference_seconds_total', {}, (performance.now() - started) / 1000)
    metrics.observe('compute_seconds', answer.computeMs / 1000)
    return { body: answer.body, timing: timings.join(', ') }
  }

  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024
  /** An error answer as the Hono app gives it (same status, body and `rejected_total` count). */
  function sendError(res: ServerResponse, error: unknown, headers: Record<string, string> = {}) {
    const status = httpStatusOf(error)
    const body = JSON.stringify(errorBody(error))
    metrics.inc('rejected_total', { code: errorBody(error).error.code })
    if (status >= 500) log(`error on POST /v1/infer: ${error instanceof Error ? error.stack : String(error)}`)
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers }).end(body)
  }
  /**
   * `POST /v1/infer` straight on node:http: the body read up to `maxBodyBytes` (413 and the
   * connection closed beyond, as the app's body limit does), then `answerInfer`.
   */
  function serveInfer(req: IncomingMessage, res: ServerResponse) {
    const tooLarge = () => {
      sendError(res, new ApiError(413, 'BODY_TOO_LARGE', `the body is over ${maxBodyBytes} bytes`), { connection: 'close' })
      req.removeAllListeners('data')
      req.resume()
    }
    const declared = Number(req.headers['content-length'])
    if (declared > maxBodyBytes) return tooLarge()
    const chunks: Buffer[] = []
    let size = 0
    let over = false
    req.on('data', (chunk: Buffer) => {
      if (over) return
      size += chunk.length
      if (size > maxBodyBytes) {
        over = true
        return tooLarge()
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      if (over) return
      answerInfer((chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8')).then(
        ({ body, timing }) => {
          if (res.destroyed) return
          res
            .writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'server-timing': timing })
            .end(body)
        },
        (error: unknown) => {
          if (!res.destroyed) sendError(res, error)
        },
      )
    })
    req.on('error', () => {})
  }

  const inferenceOr404 = (id: string) => {
    if (!/^0x[0-9a-fA-F]{64}$/.test(id))
      throw badRequest('INVALID_ID', `an inference id is 0x followed by 64 hex digits, found ${describeValue(id)}`)
    const inference = store.getInference(id as Hex)
    if (!inference) throw new ApiError(404, 'INFERENCE_NOT_FOUND', `no inference ${id} on this node`)
    return inference
  }

  app.get('/v1/inferences/:id', (c) => {
    const inference = inferenceOr404(c.req.param('id'))
    const trust = trustOf(chainStateOf(store, inference))
    const batch = inference.batchLocal === null ? undefined : store.batchByLocal(inference.batchLocal)
    return c.json(
      JSON.parse(
        JSON.stringify(
          {
            inferenceId: inference.id,
            receipt: JSON.parse(inference.receiptJson),
            signature: inference.signature,
            trust: trust.level,
            attestations: trust.attestations,
            timeline: trust.timeline,
            batch: batch
              ? { batchId: batch.batchId, index: inference.batchIndex, count: batch.count, root: batch.root, status: batch.status }
              : null,
          },
          bigintReplacer,
        ),
      ),
    )
  })

  app.get('/v1/inferences/:id/proof', (c) => {
    const inference = inferenceOr404(c.req.param('id'))
    const batch = inference.batchLocal === null ? undefined : store.batchByLocal(inference.batchLocal)
    if (!batch || batch.batchId === null)
      throw new ApiError(409, 'NOT_COMMITTED', `inference ${inference.id} is not in a committed batch yet`)
    const tree = batchTreeOf(store, batch)
    return c.json({
      inferenceId: inference.id,
      batchId: batch.batchId,
      index: inference.batchIndex,
      count: batch.count,
      root: batch.root,
      proof: tree.proof(inference.batchIndex!),
    })
  })

  app.get('/v1/batches/:root', (c) => {
    const root = c.req.param('root')
    if (!/^0x[0-9a-fA-F]{64}$/.test(root))
      throw badRequest('INVALID_ROOT', `a batch root is 0x followed by 64 hex digits, found ${describeValue(root)}`)
    const batch = store.batchByRoot(root as Hex)
    if (!batch) throw new ApiError(404, 'BATCH_NOT_FOUND', `no batch with root ${root} on this node`)
    // Beside each committed receipt: when the node ran it and how long the run took (the node's own figures, not committed).
    const receipts = store.batchInferences(batch.localId).map((i) => ({
      receipt: JSON.parse(i.receiptJson),
      signature: i.signature,
      request: JSON.parse(i.requestJson),
      clientSignature: i.clientSignature,
      executedAtMs: i.executedAtMs,
      computeMs: i.computeMs,
    }))
    // The decoy commitment completes the root: root = keccak(receipts root ‖ decoyCommit).
    const decoyCommit = decoyCommitOf(batch.decoySalt ?? NO_DECOYS_SALT)
    return c.json({ root: batch.root, batchId: batch.batchId, count: batch.count, decoyCommit, receipts })
  })

  // Every receipt this node signed, in order, committed or not: what an indexer follows (`after` = the last `seq` seen).
  app.get('/v1/receipts', (c) => {
    const { after, limit } = feedQuery((name) => c.req.query(name), 'receipt')
    const rows = store.receiptsAfter(after, limit)
    const receipts = rows.map((r) => ({
      seq: r.seq,
      inferenceId: r.id,
      receipt: JSON.parse(r.receiptJson),
      signature: r.signature,
      executedAtMs: r.executedAtMs,
      computeMs: r.computeMs,
    }))
    return c.json({ receipts, next: rows.at(-1)?.seq ?? after })
  })

  // A client's channel as this node keeps it, with the highest voucher the client signed (so a client
  // that restarts continues its running total from a value it can check is its own signature).
  app.get('/v1/channels/:client', (c) => {
    const client = c.req.param('client')
    if (!/^0x[0-9a-fA-F]{40}$/.test(client))
      throw badRequest('INVALID_ADDRESS', `a client is 0x followed by 40 hex digits, found "${client.slice(0, 50)}"`)
    const channel = store.channel(client.toLowerCase() as Hex)
    const voucher = store.highestVoucher(client.toLowerCase() as Hex)
    return c.json({
      client: client.toLowerCase(),
      node: account.address,
      price: price.toString(),
      authorized: channel.authorized.toString(),
      charged: channel.charged.toString(),
      paid: channel.paid.toString(),
      voucher: voucher ? { request: JSON.parse(voucher.requestJson), signature: voucher.clientSignature } : null,
    })
  })

  app.get('/v1/data/:hash', (c) => {
    const hash = c.req.param('hash')
    if (!/^0x[0-9a-fA-F]{64}$/.test(hash))
      throw badRequest('INVALID_HASH', `an input hash is 0x followed by 64 hex digits, found ${describeValue(hash)}`)
    const body = store.getInput(hash as Hex)
    if (body === undefined) throw new ApiError(404, 'DATA_NOT_FOUND', `no input with hash ${hash} on this node`)
    return c.body(`{"inputHash":"${hash.toLowerCase()}","inputs":${body}}`, 200, { 'content-type': 'application/json' })
  })

  return {
    app,
    address: account.address,
    store,
    writer,
    checkpoints: async () => checkpointer?.stats(),
    url: () => publicUrl,
    localUrl: () => localUrl,
    decoyCosts: () => (decoyClients ? { ...decoyClients.costs(), fallbacks: decoyFallbacks } : undefined),
    async start(port = 0, host = '127.0.0.1') {
      server = await new Promise<ServerType>((resolve) => {
        // The hot path skips the app's Request/Response adaptation; every other route is the app's.
        const appListener = getRequestListener(app.fetch, { hostname: host })
        const s = createServer((req, res) => {
          if (req.method === 'POST' && req.url === '/v1/infer') serveInfer(req, res)
          else void appListener(req, res)
        })
        s.listen(port, host, () => resolve(s))
      })
      const address = server.address()
      const listening = typeof address === 'object' && address ? address.port : port
      localUrl = `http://127.0.0.1:${listening}`
      await escrows.start()
      if (!options.publicUrl) publicUrl = listenUrl(host, listening)
      watcher = watchOwnBatches({ chain, book, store, node: account.address, log, onRecorded: observeTrust })
      dataResponder = (parts.dataResponder ?? respondToDataChallenges)({
        chain,
        book,
        store,
        sender,
        model: (modelId) => models.load(modelId),
        log,
        onPublished: (gas) => metrics.inc('gas_used_total', { function: 'publishData' }, Number(gas)),
      })
      batcher.start()
      defense.start()
      decoyClients?.start()
      return publicUrl
    },
    async stop() {
      await decoyClients?.stop()
      await batcher.stop()
      await defense.stop()
      await dataResponder?.stop()
      await watcher?.stop()
      if (server) await new Promise<void>((resolve) => server!.close(() => resolve()))
      await writer.drain()
      await runPool?.close()
      await escrows.stop()
      await writer.close()
      if (store !== writer.store) store.close()
      await checkpointer?.close()
    },
  }
}
