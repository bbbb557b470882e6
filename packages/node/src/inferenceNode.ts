import { type ServerType, serve } from '@hono/node-server'
import { type AddressBook, type Chain, listenUrl, TxSender, verityContracts } from '@verity/chain'
import {
  buildReceiptTree,
  decodeMode,
  describeValue,
  hashReceipt,
  hashRequest,
  inputsFromWire,
  inputsToWire,
  type Receipt,
  receiptToWire,
  recoverSigner,
  requestFromWire,
  requestToWire,
  signDigest,
  trustOf,
} from '@verity/contracts'
import { type LoadedModel, runQuantized, seededRandom, type TensorInfo, tensorsHash } from '@verity/runtime'
import { createModelLoader, ModelFetchFailedError } from '@verity/sdk'
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { type Hex, isHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { Batcher } from './batcher.js'
import { watchOwnBatches } from './chainWatcher.js'
import { respondToDataChallenges } from './dataResponder.js'
import { createDefense } from './defense.js'
import { ApiError, badRequest, bigintReplacer, errorBody, httpStatusOf } from './errors.js'
import { createEscrowBook } from './escrowBook.js'
import { deepValueTamper, type Fault } from './fault.js'
import { feedQuery } from './feedQuery.js'
import { COMPUTE_BUCKETS, GAP_BUCKETS, Metrics } from './metrics.js'
import { type BatchEvent, chargeChannel, ReceiptStore } from './receiptStore.js'
import { ReceiptWriter } from './receiptWriter.js'
import { chainStateOf, receiptLevels } from './storedTrust.js'

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
  fault?: Fault
  log?(line: string): void
}

export type InferenceNode = {
  app: Hono
  address: Hex
  store: ReceiptStore
  /** Starts HTTP on `host` (default 127.0.0.1; 0.0.0.0 serves other machines), the batcher and the chain watcher; resolves with the URL. */
  start(port?: number, host?: string): Promise<string>
  stop(): Promise<void>
  /** Its public URL (registered on-chain; where its batches are served). */
  url(): string
  /** Where it listens on this machine (differs from `url()` when something stands in front of it). */
  localUrl(): string
}

/**
 * The inference node: answers `POST /v1/infer` in one round trip with the output and a signed
 * receipt (stored durably before the answer), commits receipts in batches, follows their trust on
 * chain, serves inclusion proofs and the inputs verifiers need, and settles its batches.
 */
export function createInferenceNode(options: InferenceNodeOptions): InferenceNode {
  const { chain, book } = options
  const log = options.log ?? (() => {})
  const account = privateKeyToAccount(options.key)
  const me = account.address.toLowerCase()
  const domain = { chainId: chain.chainId, settlement: book.contracts.settlement }
  const price = options.price ?? 10n ** 15n
  // Commits here do not fsync on their own: the steps that must be on disk sync themselves (see ReceiptStore).
  const store = new ReceiptStore(options.dbPath, { syncOnCommit: false })
  const writer = new ReceiptWriter(options.dbPath)
  const models = createModelLoader({ chain, book, hubs: [options.hubUrl], registeredUri: false })
  const contracts = verityContracts(chain, book)
  const sender = new TxSender({
    chain,
    account: options.key,
    onRetry: (e, n) => log(`retry ${n}: ${(e as Error).message?.split('\n')[0]}`),
  })
  const registered = new Set<string>()
  const escrows = createEscrowBook({ chain, book, log })
  const faultRandom = options.fault ? seededRandom(options.fault.seed ?? 1) : undefined
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
  if (options.fault) metrics.define('faulty', 'gauge', 'This node runs a deliberate fault (tests and demos only)')

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
  let dataResponder: ReturnType<typeof respondToDataChallenges> | undefined
  const defense = createDefense({
    chain,
    book,
    sender,
    store,
    models,
    ...(options.fault ? { fault: options.fault } : {}),
    log,
    onResolved: (_, game) => metrics.inc('disputes_total', { outcome: game.nodeLost ? 'lost' : 'won' }),
  })

  /** Trust-gap and fee figures of a newly recorded event about one of this node's batches. */
  function observeTrust(event: BatchEvent) {
    if (event.kind !== 'attested' && event.kind !== 'finalized') return
    const batch = store.batchById(event.batchId)
    if (!batch) return
    for (const inference of store.batchInferences(batch.localId)) {
      // Each receipt's level and timeline as the node's API reports them.
      const { level, timeline } = trustOf(chainStateOf(store, inference))
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
      ...(options.fault ? { fault: options.fault } : {}),
      ...store.counts(),
    }),
  )

  app.get('/metrics', (c) => {
    for (const [level, n] of Object.entries(receiptLevels(store))) metrics.set('receipts', n, { level })
    if (options.fault) metrics.set('faulty', 1, { kind: options.fault.kind })
    return c.text(metrics.render(), 200, { 'content-type': 'text/plain; version=0.0.4' })
  })

  app.post('/v1/infer', async (c) => {
    const started = performance.now()
    const timings: string[] = []
    let last = started
    const mark = (name: string) => {
      const now = performance.now()
      timings.push(`${name};dur=${(now - last).toFixed(2)}`)
      last = now
    }
    let body: { request?: unknown; signature?: unknown; inputs?: unknown }
    try {
      body = JSON.parse(await c.req.text())
    } catch (error) {
      throw badRequest('MALFORMED_JSON', `the body is not JSON: ${(error as Error).message}`)
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw badRequest('INVALID_REQUEST', 'the body must be an object { request, signature, inputs }')
    const request = requestFromWire(body.request)
    const signature = body.signature
    if (typeof signature !== 'string' || !isHex(signature) || signature.length !== 132) {
      throw badRequest('INVALID_SIGNATURE', `signature must be 65 bytes of 0x-hex, found ${describeValue(signature)}`)
    }
    if (request.node.toLowerCase() !== me)
      throw badRequest('WRONG_NODE', `the request is addressed to ${request.node}, this node is ${account.address}`)
    const nowMs = Date.now()
    if (request.deadline * 1000n < BigInt(nowMs))
      throw badRequest('REQUEST_EXPIRED', `the request's deadline ${request.deadline} passed (now ${Math.floor(nowMs / 1000)})`)
    const mode = decodeMode(request.mode)
    if (mode === 'zk') throw badRequest('MODE_UNSUPPORTED', 'this node does not produce zk proofs')
    const model = await modelFor(request.modelId)
    mark('model')
    const requestHash = hashRequest(request, domain)
    const signer = recoverSigner(requestHash, signature as Hex)
    if (!signer) throw new ApiError(401, 'BAD_SIGNATURE', 'the signature does not recover to an address over this request')
    const client = signer.toLowerCase() as Hex
    mark('recover')
    const inputs = inputsFromWire(model, body.inputs)
    const inputHash = tensorsHash(inputs)
    mark('inputs')
    if (inputHash !== request.inputHash)
      throw badRequest('INPUT_HASH_MISMATCH', `the inputs hash to ${inputHash}, the signed request says ${request.inputHash}`)
    if (request.maxFee < price)
      throw new ApiError(402, 'FEE_TOO_LOW', `this node charges ${price} per inference, the request allows ${request.maxFee}`, {
        price,
        maxFee: request.maxFee,
      })
    // The fee is what the client signed for this request (at least the price): its channel total then
    // grows by exactly the fees of its receipts, so every redeemed amount is backed by receipts.
    const fee = request.maxFee
    if (store.isReplay(requestHash, client, request.nonce.toString())) {
      throw new ApiError(409, 'REQUEST_REPLAYED', `request ${requestHash} (nonce ${request.nonce}) was already answered`)
    }
    const escrow = await escrows.available(client)
    mark('escrow')
    const spendable = () => escrow - store.outstandingFees(client)
    if (spendable() < fee) {
      throw new ApiError(402, 'INSUFFICIENT_ESCROW', `client ${client} has ${spendable()} spendable in escrow, the fee is ${fee}`, {
        escrow,
        fee,
      })
    }
    // Refuses, before running anything, a fee the client's vouchers do not cover (checked again when stored).
    chargeChannel(store.channel(client), request.channelTotal, fee)

    const faulty = options.fault !== undefined && faultRandom!() < options.fault.rate
    const deep = faulty && options.fault!.kind === 'deep-value'
    const runStarted = performance.now()
    const { outputs } = runQuantized(model, inputs, deep ? { tamper: deepValueTamper(model, inputHash) } : {})
    const computeMs = performance.now() - runStarted
    mark('run')
    if (faulty && !deep) outputs[0]![0] = outputs[0]![0]! === 32767 ? 32766 : outputs[0]![0]! + 1
    const receipt: Receipt = {
      requestHash,
      modelId: request.modelId,
      inputHash,
      outputHash: tensorsHash(outputs),
      node: account.address,
      client,
      fee,
      issuedAt: BigInt(Math.floor(nowMs / 1000)),
      mode: request.mode,
    }
    const id = hashReceipt(receipt, domain)
    const receiptSignature = signDigest(options.key, id)
    mark('sign')
    const outputsJson = JSON.stringify(
      Object.fromEntries(
        model.model.outputs.map((tensorId, i) => {
          const info = model.model.tensors[tensorId] as TensorInfo
          const raw = Array.from(outputs[i] as Int16Array)
          return [info.name, { shape: info.shape, scale: info.scale, raw, values: raw.map((v) => v * info.scale) }]
        }),
      ),
    )
    // Group commit: the answer leaves once the transaction holding its receipt is committed.
    await writer.insert(
      {
        id,
        requestHash,
        client,
        nonce: request.nonce.toString(),
        modelId: request.modelId,
        inputHash,
        outputHash: receipt.outputHash,
        fee: fee.toString(),
        channelTotal: request.channelTotal.toString(),
        mode: request.mode,
        issuedAt: Number(receipt.issuedAt),
        executedAtMs: nowMs,
        receiptJson: JSON.stringify(receiptToWire(receipt)),
        signature: receiptSignature,
        requestJson: JSON.stringify(requestToWire(request)),
        clientSignature: signature as Hex,
        outputsJson,
        computeMs,
      },
      JSON.stringify(inputsToWire(model, inputs)),
      (writing) => {
        const left = escrow - writing.outstandingFees(client)
        if (left < fee)
          throw new ApiError(402, 'INSUFFICIENT_ESCROW', `client ${client} has ${left} spendable in escrow, the fee is ${fee}`)
      },
    )
    mark('store')
    metrics.inc('inferences_total', { model: request.modelId.slice(0, 10) })
    metrics.inc('inference_seconds_total', {}, (performance.now() - started) / 1000)
    metrics.observe('compute_seconds', computeMs / 1000)
    return c.body(
      `{"inferenceId":"${id}","receipt":${JSON.stringify(receiptToWire(receipt))},"signature":"${receiptSignature}","outputs":${outputsJson}}`,
      200,
      {
        'content-type': 'application/json',
        'server-timing': timings.join(', '),
      },
    )
  })

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
    const tree = buildReceiptTree(store.batchInferences(batch.localId).map((i) => i.id))
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
    return c.json({ root: batch.root, batchId: batch.batchId, count: batch.count, receipts })
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
    url: () => publicUrl,
    localUrl: () => localUrl,
    async start(port = 0, host = '127.0.0.1') {
      if (options.fault)
        log(`WARNING: this node is deliberately faulty (${options.fault.kind} ${options.fault.rate}); for tests and demos only`)
      server = await new Promise<ServerType>((resolve) => {
        const s = serve({ fetch: app.fetch, port, hostname: host }, () => resolve(s))
      })
      const address = server.address()
      const listening = typeof address === 'object' && address ? address.port : port
      localUrl = `http://127.0.0.1:${listening}`
      await escrows.start()
      if (!options.publicUrl) publicUrl = listenUrl(host, listening)
      watcher = watchOwnBatches({ chain, book, store, node: account.address, log, onRecorded: observeTrust })
      dataResponder = respondToDataChallenges({
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
      return publicUrl
    },
    async stop() {
      await batcher.stop()
      await defense.stop()
      await dataResponder?.stop()
      await watcher?.stop()
      if (server) await new Promise<void>((resolve) => server!.close(() => resolve()))
      await writer.drain()
      await escrows.stop()
      writer.close()
      store.close()
    },
  }
}
