/**
 * Load benchmark of the fast path (docs/benchmarks.md, "The fast path under load"), all in one run:
 * - an inference node in its own process (embedded chain, hub, mnist-8, batcher and chain followers on),
 * - a plain HTTP server + onnxruntime-node (float mnist-8, no receipts) and a plain HTTP server +
 *   Verity `runQuantized` (no receipts), each in its own process,
 * - a load client in another process, with requests signed before each measured phase (native
 *   secp256k1), keep-alive connections, `c` requests in flight.
 * For each concurrency it prints receipts/s per 10-s block, p50/p99 latency, the node's CPU per
 * receipt (its process: HTTP, checks, run, signing, SQLite, batcher, embedded chain), the time of the
 * client's check of a receipt (the SDK's `checkAnswer`), the node's Server-Timing steps, the ratio to
 * the references, and the machine's CPU per answer (server and load client) in every phase. First it
 * times what a receipt must do alone (`receiptFloor`, `fsyncFloor`): with the `run` reference's CPU per
 * answer, that bounds what any node could answer on these cores (the receipt ceiling).
 *
 *   npm run bench:load -- [--seconds 60] [--ref-seconds 20] [--concurrency 1,8,32] [--prefill 1000000]
 *     [--max-rate 4000] (requests signed per second of a node phase) [--profile DIR] (V8 CPU profile of the node)
 *     [--client-profile DIR] (V8 CPU profile of the load client)
 *     [--checkpointer 0|1] (the WAL checkpointed by a thread of its own, the default, or inside commits)
 *     [--stats 1] (node figures every 5 s on stderr) [--workers N] (the node answers requests in N worker threads, default one per
 *     core, at most 8; 0: on the event loop) [--spread-run-ms N] (a model's requests spread over them when its runs take ≥ N ms, default 1)
 *     [--inline-run-ms N] (a lone request runs a model whose last run took ≤ N ms on the event loop, default 1; 0: never)
 *     [--writer-thread 1] (receipts written in their own thread, not on the event loop)
 *     [--finalize 0] (the node never finalizes) [--node-flags "..."] (flags of the node process)
 *     [--repeat-inputs 1] (the client sends the 100 inputs in turn; by default each request's inputs are its own)
 *     [--cache-mb N] (the page cache of the node's writing SQLite connection, default 64)
 *     [--ratio-rounds 6] [--round-seconds 5] (after the c = 32 phase, rounds of the node and the `run` reference in
 *     turns: the ratio target is judged on their median, which a slower minute of the machine moves less)
 *     [--model mnist-8|stories260K|shakespeare-char] [--tokens 64] (the model under load, bench/loadWorkload.ts: a
 *     language model from ../shared, each request one forward pass over a window of Tiny Shakespeare's validation
 *     text; the targets of the fast path are judged for mnist-8 only)
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { closeSync, fdatasyncSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs'
import { Agent, createServer, request as httpRequest } from 'node:http'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { deployVerity, startEmbeddedChain, TxSender } from '@verity/chain'
import {
  encodeMode,
  hashRequest,
  type InferenceRequest,
  inputsFromWire,
  inputsJson,
  inputsToWire,
  nativeSecp256k1,
  nodeRegistryAbi,
  outputsJson,
  outputsToWire,
  Role,
  receiptFromWire,
  receiptToWire,
  requestToWire,
  signDigest,
  verityTokenAbi,
  type WireOutputs,
} from '@verity/contracts'
import { createHub, createInferenceNode, publishModel, serveApp } from '@verity/node'
import { loadModel, runQuantized, tensorRoot, tensorsHash } from '@verity/runtime'
import { checkAnswer, createVerityClient, depositEscrow } from '@verity/sdk'
import type { Address, Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { answerRequest } from '../packages/node/src/infer/answerRequest.js'
import { defaultRunWorkers } from '../packages/node/src/infer/runWorkersFor.js'
import { hashKey } from '../packages/node/src/receiptStore.js'
import { judgeTargets, type PhaseOutcome, type RoundPair, summariseRounds } from './fastPathTargets.js'
import { artifactPathIn, workloadFor } from './loadWorkload.js'

const self = fileURLToPath(import.meta.url)
const flag = (name: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : undefined
}
const TOKEN = 10n ** 18n
const PRICE = 10n ** 15n
const role = flag('role') ?? 'main'
/** The model under load (`--model`, default mnist-8; a language model's window `--tokens`, default 64). */
const workload = workloadFor(flag('model'), Number(flag('tokens') ?? 64))

/** Prints one JSON line (the parent reads it) and serves requests until its stdin closes. */
function ready(info: Record<string, unknown>) {
  process.stdout.write(`${JSON.stringify(info)}\n`)
  process.stdin.resume()
  process.stdin.on('end', () => process.exit(0))
}

const jsonServer = (handle: (body: string) => Promise<string> | string) =>
  new Promise<string>((resolve) => {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', async () => {
        try {
          const out = await handle(Buffer.concat(chunks).toString('utf8'))
          res.writeHead(200, { 'content-type': 'application/json' }).end(out)
        } catch (error) {
          res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(error) }))
        }
      })
    })
    server.keepAliveTimeout = 60_000
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      resolve(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`)
    })
  })

// ─── the reference servers ───────────────────────────────────────────────────────────────────────

if (role === 'ort') {
  const ort = await import('onnxruntime-node')
  const session = await ort.InferenceSession.create(workload.onnxPath, { intraOpNumThreads: 1 })
  const url = await jsonServer(async (body) => {
    const out = await session.run(workload.feed(ort, session.inputNames[0]!, body))
    const first = Object.values(out)[0]!
    return JSON.stringify({ outputs: { [Object.keys(out)[0]!]: { shape: first.dims, values: Array.from(first.data as Float32Array) } } })
  })
  ready({ url })
}

if (role === 'run') {
  const model = loadModel(new Uint8Array(readFileSync(flag('artifact')!)))
  const url = await jsonServer((body) => {
    const inputs = inputsFromWire(model, (JSON.parse(body) as { inputs: unknown }).inputs)
    // The outputs in the form the node answers the SDK with (no values: the client computes them; raw in base64).
    return `{"outputs":${outputsJson(model, runQuantized(model, inputs).outputs, { values: false, encoding: 'base64' })}}`
  })
  ready({ url })
}

// ─── the inference node ──────────────────────────────────────────────────────────────────────────

if (role === 'node') {
  const dir = flag('dir')!
  const chain = await startEmbeddedChain({ accounts: 4 })
  const [deployer, nodeAccount, clientAccount] = chain.accounts
  const window = 10
  const book = await deployVerity({
    chain,
    deployer: deployer!.privateKey,
    params: {
      challengeWindow: window,
      maxDisputeDuration: 2 * window,
      unbondingDelay: 4 * window,
      escrowWithdrawalDelay: 4 * window,
      dataResponseTime: Math.max(1, Math.floor(window / 2)),
      slashAmount: TOKEN / 1000n,
      attesterSlash: TOKEN / 1000n,
    },
  })
  const funder = new TxSender({ chain, account: deployer!.privateKey })
  for (const account of [nodeAccount!, clientAccount!])
    await funder.write({
      address: book.contracts.token,
      abi: verityTokenAbi,
      functionName: 'transfer',
      args: [account.address, 100_000n * TOKEN],
    })
  const hub = createHub({ dir: join(dir, 'hub') })
  const hubServer = await serveApp(hub.app, 0, '127.0.0.1')
  const artifactPath = artifactPathIn(dir, workload)
  const artifact = workload.writeArtifact(artifactPath)
  const published = await publishModel({ chain, book, key: deployer!.privateKey, hubUrl: hubServer.url, artifact })
  const dbPath = join(dir, 'node.sqlite')
  const node = createInferenceNode({
    chain,
    book,
    key: nodeAccount!.privateKey,
    dbPath,
    hubUrl: hubServer.url,
    price: PRICE,
    batch: { maxSize: Number(flag('batch') ?? 256), maxAgeMs: 1000 },
    ...(flag('workers') === undefined ? {} : { runWorkers: Number(flag('workers')) }),
    ...(flag('spread-run-ms') === undefined ? {} : { spreadRunMs: Number(flag('spread-run-ms')) }),
    inlineRunMaxMs: Number(flag('inline-run-ms') ?? 1),
    writerThread: flag('writer-thread') === '1',
    checkpointer: flag('checkpointer') !== '0',
    ...(flag('cache-mb') ? { sqliteCacheMb: Number(flag('cache-mb')) } : {}),
    finalize: flag('finalize') !== '0',
    redeem: { minAmount: 1000n * PRICE, maxAgeMs: 60_000 },
    log: (line) => process.stderr.write(`node: ${line}\n`),
  })
  const prefill = Number(flag('prefill') ?? 0)
  if (prefill > 0) {
    const model = loadModel(new Uint8Array(readFileSync(artifactPath)))
    const inputs = workload.inputs(model)[0]!
    // As the node stores them.
    const outputs = outputsJson(model, runQuantized(model, inputs).outputs, { values: false, encoding: 'base64' })
    prefillStore(node.store, prefill, {
      modelId: published.modelId,
      node: nodeAccount!.address,
      inputBody: inputsJson(model, inputs),
      outputsJson: outputs,
    })
  }
  const url = await node.start(0, '127.0.0.1')
  const sender = new TxSender({ chain, account: nodeAccount!.privateKey })
  // Stake for 20 million receipts in open batches (slash 0.001 VRT each): the stake cap never stalls the batcher here.
  const stake = 20_000n * TOKEN
  await sender.write({
    address: book.contracts.token,
    abi: verityTokenAbi,
    functionName: 'approve',
    args: [book.contracts.nodeRegistry, stake],
  })
  await sender.write({
    address: book.contracts.nodeRegistry,
    abi: nodeRegistryAbi,
    functionName: 'register',
    args: [Role.inference, url, stake],
  })
  const client = createVerityClient({ chain, book, account: clientAccount!.privateKey })
  await depositEscrow(client, { amount: 50_000n * TOKEN })
  if (flag('stats') === '1') nodeStats(node, dbPath)
  ready({
    url,
    artifact: artifactPath,
    modelId: published.modelId,
    node: node.address,
    clientKey: clientAccount!.privateKey,
    domain: { chainId: chain.chainId, settlement: book.contracts.settlement },
    stored: node.store.counts().inferences,
  })
}

/**
 * Every 5 s on stderr (`--stats`): receipts stored, WAL and database size, the writer's transactions
 * (ms per flush, on the writer's thread) and fsyncs (ms), the longest holds of the event loop, and
 * V8's GC time by kind — where a node slows down.
 */
function nodeStats(node: ReturnType<typeof createInferenceNode>, dbPath: string) {
  const gc: Record<string, number> = {}
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      // kind (1 scavenge, 2 minor mark-compact, 4 mark-compact, 8 incremental marking) and, when set, V8's flags (32: external memory pressure).
      const detail = (e as unknown as { detail?: { kind?: number; flags?: number } }).detail
      const kind = `${detail?.kind ?? '?'}${detail?.flags ? `/f${detail.flags}` : ''}`
      gc[kind] = (gc[kind] ?? 0) + e.duration
    }
  }).observe({ entryTypes: ['gc'] })
  const size = (path: string) => {
    try {
      return statSync(path).size
    } catch {
      return 0
    }
  }
  const q = (values: number[], p: number) => ([...values].sort((a, b) => a - b)[Math.floor(p * (values.length - 1))] ?? 0).toFixed(2)
  let cpu = process.cpuUsage()
  // How long the event loop was held at a stretch (a transaction, a WAL checkpoint, a run...).
  const loopDelay = monitorEventLoopDelay({ resolution: 5 })
  loopDelay.enable()
  setInterval(async () => {
    const w = await node.writer.stats()
    const c = await node.checkpoints()
    const used = process.cpuUsage(cpu)
    cpu = process.cpuUsage()
    process.stderr.write(
      `stats: ${node.store.counts().inferences} stored, wal ${(size(`${dbPath}-wal`) / 1e6).toFixed(1)} MB, db ${(size(dbPath) / 1e6).toFixed(1)} MB; flush ms p50 ${q(w.flushMs, 0.5)} max ${q(w.flushMs, 1)} (${w.flushMs.length}); fsync ms p50 ${q(w.syncMs, 0.5)} p90 ${q(w.syncMs, 0.9)} max ${q(w.syncMs, 1)}; group p50 ${q(w.groupSizes, 0.5)}; ${c ? `checkpointer ${c.runs} runs (${c.busy} busy, ${c.failures} failed) ${c.ms.toFixed(0)} ms, WAL frames ${c.log} (${c.checkpointed} copied), writer held ${c.holds} times for ${c.holdMs.toFixed(0)} ms (${c.restarted} restarts)` : 'no checkpointer'}; event loop delay p99 ${(loopDelay.percentile(99) / 1e6).toFixed(1)} max ${(loopDelay.max / 1e6).toFixed(1)} ms; gc ms ${JSON.stringify(Object.fromEntries(Object.entries(gc).map(([k, v]) => [k, Math.round(v)])))}; cpu ${((used.user + used.system) / 5000).toFixed(0)} ms/s; heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB, external ${(process.memoryUsage().external / 1e6).toFixed(0)} MB (array buffers ${(process.memoryUsage().arrayBuffers / 1e6).toFixed(0)} MB)\n`,
    )
    loopDelay.reset()
    for (const k of Object.keys(gc)) delete gc[k]
  }, 5000).unref()
}

/**
 * `n` receipts of another client in one finalized batch, its channel fully paid: the history a
 * long-running node carries, which the request path must not scan. Written straight into SQLite.
 */
/**
 * `n` receipts as the node stores them, written straight into its store before it starts: each row
 * shaped like a real one — its id, request hash, input and output hashes 32 random-looking bytes (a
 * keccak is uniformly spread: each index insert lands on a random page, as it does in production),
 * receipt, request and signatures of their real lengths, and its own inputs row (a real MNIST image's
 * stored JSON under a hash of its own). All in batches already finalized.
 */
function prefillStore(
  store: ReturnType<typeof createInferenceNode>['store'],
  n: number,
  setup: { modelId: Hex; node: Address; inputBody: string; outputsJson: string },
) {
  const started = performance.now()
  const db = store.db
  const client = '0x000000000000000000000000000000000000beef' as Address
  // 32 random-looking bytes for each (tag, i): sha256 spreads them as keccak does.
  const hash = (tag: string, i: number) => `0x${createHash('sha256').update(`${tag}${i}`).digest('hex')}` as Hex
  const signature = `0x${'5a'.repeat(65)}`
  const insertBatch = db.prepare(
    "INSERT INTO batches (root, count, fee_total, created_at_ms, status, batch_id, committed_at, commit_block, finalized_at, sequence) VALUES (?, ?, ?, ?, 'finalized', ?, 0, 0, 0, NULL)",
  )
  // The store's own layout: ids and input hashes with their integer keys where it has them (`hashKey`).
  const has = (table: string, column: string) =>
    (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).some((c) => c.name === column)
  const idKey = has('inferences', 'id_key')
  const inputKey = has('inputs', 'hash_key')
  const insertRow = db.prepare(
    `INSERT INTO inferences (${idKey ? 'id_key, ' : ''}id, request_hash, client, nonce, model_id, input_hash, output_hash, fee, mode, issued_at, executed_at_ms,
       receipt_json, signature, request_json, client_signature, outputs_json, compute_ms, channel_total, batch_local, batch_index)
     VALUES (${idKey ? '?, ' : ''}?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, 0.2, ?, ?, ?)`,
  )
  const insert = (id: Hex, ...rest: unknown[]) => (idKey ? insertRow.run(hashKey(id), id, ...rest) : insertRow.run(id, ...rest))
  const inputRow = db.prepare(`INSERT INTO inputs (${inputKey ? 'hash_key, ' : ''}hash, body) VALUES (${inputKey ? '?, ' : ''}?, ?)`)
  const insertInput = (hash: Hex, body: string) => (inputKey ? inputRow.run(hashKey(hash), hash, body) : inputRow.run(hash, body))
  const perBatch = 1024
  let batchLocal = 0
  const issuedAt = BigInt(Math.floor(Date.now() / 1000))
  // The node's own connection: its settings are put back as they were (a FULL left behind would fsync every group commit on the event loop).
  const synchronous = db.pragma('synchronous', { simple: true })
  const cacheSize = db.pragma('cache_size', { simple: true })
  db.pragma('synchronous = OFF')
  // Random keys into indexes of millions of entries: a page cache that holds them keeps the prefill to a minute.
  db.pragma('cache_size = -1000000')
  for (let from = 0; from < n; from += 50_000) {
    db.transaction(() => {
      for (let i = from; i < Math.min(n, from + 50_000); i++) {
        if (i % perBatch === 0)
          batchLocal = Number(insertBatch.run(hash('root', i), perBatch, '0', 0, 1_000_000_000 + i / perBatch).lastInsertRowid)
        const request = {
          modelId: setup.modelId,
          inputHash: hash('input', i),
          node: setup.node,
          mode: 1,
          maxFee: PRICE,
          nonce: BigInt(i),
          deadline: issuedAt + 3600n,
          channelTotal: (BigInt(i) + 1n) * PRICE,
        }
        const receipt = {
          requestHash: hash('request', i),
          modelId: setup.modelId,
          inputHash: request.inputHash,
          outputHash: hash('output', i),
          node: setup.node,
          client,
          fee: PRICE,
          issuedAt,
          mode: 1,
        }
        insert(
          hash('id', i),
          receipt.requestHash,
          client,
          String(i),
          setup.modelId,
          receipt.inputHash,
          receipt.outputHash,
          PRICE.toString(),
          Number(issuedAt),
          Date.now(),
          JSON.stringify(receiptToWire(receipt)),
          signature,
          JSON.stringify(requestToWire(request)),
          signature,
          setup.outputsJson,
          request.channelTotal.toString().padStart(40, '0'),
          batchLocal,
          i % perBatch,
        )
        insertInput(receipt.inputHash, setup.inputBody)
      }
    })()
  }
  const total = (BigInt(n) * PRICE).toString()
  db.prepare('INSERT INTO channels (client, authorized, charged, paid) VALUES (?, ?, ?, ?)').run(client, total, total, total)
  db.pragma(`cache_size = ${cacheSize}`)
  db.pragma(`synchronous = ${synchronous}`)
  process.stderr.write(`prefilled ${n} receipts in ${((performance.now() - started) / 1000).toFixed(1)} s (node ${setup.node})\n`)
}

// ─── the load client ─────────────────────────────────────────────────────────────────────────────

type Phase = { target: 'node' | 'ort' | 'run'; url: string; concurrency: number; seconds: number; presign: number }
/** The receipt's own work timed alone, µs per call (median of rounds), in the client process: see `receiptFloor`. */
type Floor = { run: number; answer: number; hashRequest: number; check: number; tensorRoot: number }
type PhaseResult = {
  blocks: number[]
  latencies: number[]
  ok: number
  failed: number
  errors: Record<string, number>
  checkMs: number[]
  serverTiming: Record<string, number[]>
  exhausted: boolean
  signMs: number
}

if (role === 'client') {
  const setup = JSON.parse(flag('setup')!) as {
    artifact: string
    modelId: Hex
    node: Address
    clientKey: Hex
    domain: { chainId: number; settlement: Address }
  }
  const model = loadModel(new Uint8Array(readFileSync(setup.artifact)))
  const quantized = workload.inputs(model)
  const wireInputs = quantized.map((q) => JSON.stringify(inputsToWire(model, q)))
  const inputHashes = quantized.map((q) => tensorsHash(q))
  // Each request to the node carries inputs of its own, as a real workload's do (each receipt then stores
  // its own inputs row): the k-th is image k % 100 with its first three values set to the digits of
  // k / 100 in base 128 (in base of the vocabulary for a language model's tokens, when smaller). `--repeat-inputs 1`:
  // the 100 inputs in turn, as passes before the ninth did.
  const repeatInputs = flag('repeat-inputs') === '1'
  const variantOf = (k: number) => {
    const q = Math.floor(k / 100)
    const b = workload.variantRange
    return [q % b, Math.floor(q / b) % b, Math.floor(q / (b * b)) % b]
  }
  const cut = wireInputs.map((wire) => {
    const from = wire.indexOf('"data":[') + 8
    let to = from
    for (let commas = 0; commas < 3; to++) if (wire[to] === ',') commas++
    return { head: wire.slice(0, from), tail: wire.slice(to - 1) }
  })
  const variantHash = (k: number): Hex => {
    const data = Int16Array.from(quantized[k % 100]![0]!)
    data.set(variantOf(k))
    return tensorsHash([data])
  }
  const variantWire = (k: number) => `${cut[k % 100]!.head}${variantOf(k).join(',')}${cut[k % 100]!.tail}`
  const firstEver = BigInt(Date.now()) * 1000n
  const floatBodies = workload.floatBodies()
  const client = privateKeyToAccount(setup.clientKey).address
  let nonce = firstEver
  // Each request authorizes the whole deposit as its channel total (a prepaid cap): every request is then
  // independent of the others' order, so pre-signed requests can be sent by any connection.
  const channelTotal = 40_000n * TOKEN

  process.stdout.write('{"ready":true}\n')
  const lines = createInterface({ input: process.stdin })
  for await (const line of lines) {
    if (line === '"floor"') {
      process.stdout.write(`${JSON.stringify(receiptFloor(model, wireInputs[0]!, setup))}\n`)
      continue
    }
    const phase = JSON.parse(line) as Phase
    // Requests are signed before the phase starts: the load client spends its CPU on sending and checking.
    const signStarted = performance.now()
    // Only the signatures are kept, 65 bytes each in one buffer outside the JS heap; each request and its
    // body are put together as it is sent (the same fields, its nonce the i-th): the client's heap stays
    // small, so its garbage collector does not load the cores the node runs on.
    const firstNonce = nonce
    const deadline = BigInt(Math.floor(Date.now() / 1000) + 3600)
    const requestAt = (i: number): InferenceRequest => ({
      modelId: setup.modelId.toLowerCase() as Hex,
      inputHash: repeatInputs ? inputHashes[i % 100]! : (`0x${inputHashOf.toString('hex', 32 * i, 32 * i + 32)}` as Hex),
      node: setup.node,
      mode: encodeMode('optimistic'),
      maxFee: PRICE,
      nonce: firstNonce + BigInt(i),
      deadline,
      channelTotal,
    })
    const presigned = phase.target === 'node' ? phase.presign : 0
    const signatures = Buffer.alloc(65 * presigned)
    const inputHashOf = Buffer.alloc(repeatInputs ? 0 : 32 * presigned)
    for (let i = 0; i < presigned; i++) {
      if (!repeatInputs) inputHashOf.write(variantHash(Number(firstNonce - firstEver) + i).slice(2), 32 * i, 'hex')
      const signature = signDigest(setup.clientKey, hashRequest(requestAt(i), setup.domain))
      signatures.write(signature.slice(2), 65 * i, 'hex')
    }
    nonce += BigInt(presigned)
    const signMs = performance.now() - signStarted
    const agent = new Agent({ keepAlive: true, maxSockets: phase.concurrency })
    const url = new URL(phase.target === 'node' ? `${phase.url}/v1/infer` : phase.url)
    process.stdout.write('{"event":"start"}\n')
    const result: PhaseResult = {
      blocks: [],
      latencies: [],
      ok: 0,
      failed: 0,
      errors: {},
      checkMs: [],
      serverTiming: {},
      exhausted: false,
      signMs,
    }
    const started = performance.now()
    const end = started + phase.seconds * 1000
    let next = 0
    const post = (body: string) =>
      new Promise<{ status: number; text: string; timing: string | undefined }>((resolve, reject) => {
        const req = httpRequest(
          {
            host: url.hostname,
            port: url.port,
            path: url.pathname,
            method: 'POST',
            agent,
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          },
          (res) => {
            let text = ''
            res.setEncoding('utf8')
            res.on('data', (c: string) => {
              text += c
            })
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text, timing: res.headers['server-timing'] as string | undefined }))
            res.on('error', reject)
          },
        )
        req.on('error', reject)
        req.end(body)
      })
    await Promise.all(
      Array.from({ length: phase.concurrency }, async () => {
        while (performance.now() < end) {
          const i = next++
          let body: string
          let request: InferenceRequest | undefined
          if (phase.target === 'node') {
            if (i >= presigned) {
              result.exhausted = true
              return
            }
            request = requestAt(i)
            body = `{"request":${JSON.stringify(requestToWire(request))},"signature":"0x${signatures.toString('hex', 65 * i, 65 * i + 65)}","client":"${client}","values":false,"encoding":"base64","inputs":${repeatInputs ? wireInputs[i % 100] : variantWire(Number(firstNonce - firstEver) + i)}}`
          } else body = phase.target === 'ort' ? floatBodies[i % 100]! : `{"inputs":${wireInputs[i % 100]}}`
          const t = performance.now()
          let answer: Awaited<ReturnType<typeof post>>
          try {
            answer = await post(body)
          } catch (error) {
            result.failed++
            const code = (error as { code?: string }).code ?? 'ERROR'
            result.errors[code] = (result.errors[code] ?? 0) + 1
            continue
          }
          const done = performance.now()
          if (done > end) break
          if (answer.status !== 200) {
            result.failed++
            const code = (() => {
              try {
                return (JSON.parse(answer.text) as { error: { code: string } }).error.code
              } catch {
                return String(answer.status)
              }
            })()
            result.errors[code] = (result.errors[code] ?? 0) + 1
            continue
          }
          if (request) {
            // The SDK's checks of an answer (node signature, receipt fields, output hash): the time they take.
            // Timed by the wall clock: the check is synchronous, and process.cpuUsage() itself costs ~20 µs a call.
            const c0 = performance.now()
            checkAnswerBody(model, answer.text, request, client, setup.domain)
            result.checkMs.push(performance.now() - c0)
            // Every 10th answer's steps, appended in place (a copy per append would grow the client's work with the phase).
            if (result.ok % 10 === 0)
              for (const part of answer.timing?.split(', ') ?? []) {
                const [name, dur] = part.split(';dur=')
                const samples = result.serverTiming[name!] ?? []
                samples.push(Number(dur))
                result.serverTiming[name!] = samples
              }
          }
          result.ok++
          result.latencies.push(done - t)
          const block = Math.floor((done - started) / 10_000)
          result.blocks[block] = (result.blocks[block] ?? 0) + 1
        }
      }),
    )
    agent.destroy()
    process.stdout.write(`${JSON.stringify(result)}\n`)
  }
  process.exit(0)
}

// ─── the orchestrator ────────────────────────────────────────────────────────────────────────────

if (role === 'main') {
  const seconds = Number(flag('seconds') ?? 60)
  const refSeconds = Number(flag('ref-seconds') ?? Math.max(10, Math.round(seconds / 3)))
  const levels = (flag('concurrency') ?? '1,8,32').split(',').map(Number)
  const prefill = Number(flag('prefill') ?? 0)
  const maxRate = Number(flag('max-rate') ?? 4000)
  /** Rounds of `--round-seconds` at c = 32, the node and the `run` reference in turns (`--ratio-rounds 0`: none). */
  const ratioRounds = Number(flag('ratio-rounds') ?? 6)
  const roundSeconds = Number(flag('round-seconds') ?? 5)
  const dir = mkdtempSync(join(tmpdir(), 'verity-load-'))

  type Proc = { child: ChildProcess; info: Record<string, unknown>; lines: AsyncIterator<string> }
  const start = async (args: string[], nodeFlags: string[] = []): Promise<Proc> => {
    const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', '--conditions=source', self, ...args], {
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
    const first = await lines.next()
    if (first.done) throw new Error(`${args.join(' ')} exited before it was ready`)
    return { child, info: JSON.parse(first.value), lines }
  }
  const cpuMs = (pid: number) => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100 // utime + stime, at 100 ticks/s
  }
  const pct = (values: number[], p: number) =>
    values.length === 0 ? Number.NaN : [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(p * values.length))]!
  const median = (values: number[]) => pct(values, 0.5)

  console.log(
    `load bench: ${workload.name}${workload.name === 'mnist-8' ? '' : ` (a forward pass over ${flag('tokens') ?? 64} tokens)`}, ${seconds} s per node phase, ${refSeconds} s per reference phase, concurrency ${levels.join(', ')}, prefill ${prefill}`,
  )
  console.log(
    `native secp256k1: ${nativeSecp256k1}; requests answered in ${flag('workers') ?? `up to ${defaultRunWorkers()} (one per core, at most 8)`} worker thread(s) (0: on the event loop; a model's requests spread over them when its runs take ≥ ${flag('spread-run-ms') ?? 1} ms), inline when alone and ≤ ${Number(flag('inline-run-ms') ?? 1)} ms`,
  )
  const profile = flag('profile')
  // Every role builds the same workload from these.
  const modelArgs = [...(flag('model') ? ['--model', flag('model')!] : []), ...(flag('tokens') ? ['--tokens', flag('tokens')!] : [])]
  const node = await start(
    [
      ...modelArgs,
      '--role',
      'node',
      '--dir',
      dir,
      '--prefill',
      String(prefill),
      ...(flag('stats') === '1' ? ['--stats', '1'] : []),
      ...(flag('workers') ? ['--workers', flag('workers')!] : []),
      ...(flag('spread-run-ms') ? ['--spread-run-ms', flag('spread-run-ms')!] : []),
      '--inline-run-ms',
      flag('inline-run-ms') ?? '1',
      '--writer-thread',
      flag('writer-thread') ?? '0',
      '--checkpointer',
      flag('checkpointer') ?? '1',
      ...(flag('cache-mb') ? ['--cache-mb', flag('cache-mb')!] : []),
    ],
    [...(profile ? [`--cpu-prof`, `--cpu-prof-dir=${profile}`] : []), ...(flag('node-flags')?.split(' ').filter(Boolean) ?? [])],
  )
  console.log(`node ready at ${node.info.url} (${node.info.stored} receipts stored)`)
  const ort = await start([...modelArgs, '--role', 'ort'])
  const run = await start(['--role', 'run', '--artifact', String(node.info.artifact)])
  const clientProfile = flag('client-profile')
  const client = await start(
    [
      ...modelArgs,
      '--role',
      'client',
      '--setup',
      JSON.stringify(node.info),
      ...(flag('repeat-inputs') === '1' ? ['--repeat-inputs', '1'] : []),
    ],
    clientProfile ? [`--cpu-prof`, `--cpu-prof-dir=${clientProfile}`] : [],
  )

  const runPhase = async (phase: Phase, pid: number) => {
    client.child.stdin!.write(`${JSON.stringify(phase)}\n`)
    // The client signs first, then says it starts: the server's CPU is taken over the measured span only.
    await client.lines.next()
    const before = cpuMs(pid)
    const clientBefore = cpuMs(client.child.pid!)
    // Both processes' CPU at each 10-s block's end (the client's blocks start as it says it starts):
    // a decline is then told apart — the node's work per receipt, or the client's, or neither.
    const marks = [{ server: before, client: clientBefore }]
    const marker = setInterval(() => marks.push({ server: cpuMs(pid), client: cpuMs(client.child.pid!) }), 10_000)
    const line = await client.lines.next()
    clearInterval(marker)
    const result = JSON.parse(line.value) as PhaseResult
    // The last block's end, should its timer not have fired before the client's results came.
    if (marks.length <= result.blocks.length) marks.push({ server: cpuMs(pid), client: cpuMs(client.child.pid!) })
    const blockCpu = marks.slice(1, result.blocks.length + 1).map((mark, b) => ({
      server: (mark.server - marks[b]!.server) / (result.blocks[b] ?? Number.NaN),
      client: (mark.client - marks[b]!.client) / (result.blocks[b] ?? Number.NaN),
    }))
    return { result, serverCpu: cpuMs(pid) - before, clientCpu: cpuMs(client.child.pid!) - clientBefore, blockCpu }
  }

  // What a receipt adds at least, timed alone before any phase (the machine otherwise idle).
  await new Promise((r) => setTimeout(r, 3000)) // the node's start-up work (its first batcher ticks, the worker's model) settles
  client.child.stdin!.write('"floor"\n')
  const floor = JSON.parse((await client.lines.next()).value) as Floor
  const fsyncMs = fsyncFloor(dir)
  /** The receipt's own work in the node, ms: its `answerRequest` less the run, and the request's hash. */
  const receiptWork = (floor.answer - floor.run + floor.hashRequest) / 1000
  const cores = availableParallelism()
  console.log(
    `receipt floor, one thread (µs per call): run ${floor.run.toFixed(1)}, answerRequest ${floor.answer.toFixed(1)} (the receipt's work in it ${(floor.answer - floor.run).toFixed(1)}; the inputs' tensor root ${floor.tensorRoot.toFixed(1)}), request hash ${floor.hashRequest.toFixed(1)}, client check ${floor.check.toFixed(1)}; fdatasync of one page p50 ${fsyncMs.toFixed(3)} ms; ${cores} cores`,
  )

  const rows: string[] = []
  const outcomes: PhaseOutcome[] = []
  for (const c of levels) {
    const refs: Record<string, number> = {}
    /** Per reference: its server's and the load client's CPU per answer, ms; its p50 latency, ms. */
    const refCpu: Record<string, { server: number; client: number; p50: number }> = {}
    for (const target of ['ort', 'run'] as const) {
      const proc = target === 'ort' ? ort : run
      const { result, serverCpu, clientCpu } = await runPhase(
        { target, url: String(proc.info.url), concurrency: c, seconds: refSeconds, presign: 0 },
        proc.child.pid!,
      )
      refs[target] = result.ok / refSeconds
      refCpu[target] = { server: serverCpu / result.ok, client: clientCpu / result.ok, p50: pct(result.latencies, 0.5) }
      console.log(
        `c=${c} ${target === 'ort' ? 'plain HTTP + onnxruntime-node' : 'plain HTTP + Verity run     '}: ${refs[target]!.toFixed(0)}/s, p50 ${pct(result.latencies, 0.5).toFixed(2)} ms, p99 ${pct(result.latencies, 0.99).toFixed(2)} ms; CPU per answer: server ${refCpu[target]!.server.toFixed(3)} + client ${refCpu[target]!.client.toFixed(3)} ms${result.failed ? `, ${result.failed} failed` : ''}`,
      )
    }
    const phase: Phase = { target: 'node', url: String(node.info.url), concurrency: c, seconds, presign: Math.ceil(maxRate * seconds) }
    const idleRate = await idleCpuRate(node.child.pid!)
    const loadBefore = loadavg()[0]!
    const { result, serverCpu: busyCpu, clientCpu, blockCpu } = await runPhase(phase, node.child.pid!)
    // The machine's 1-minute load average when the node phase started and ended (other jobs share the cores).
    const load = `${loadBefore.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`
    const idleMs = result.signMs
    const rate = result.ok / seconds
    const blocks = result.blocks.slice(0, Math.floor(seconds / 10)).map((n) => n / 10)
    const check = result.checkMs
    const timing = Object.entries(result.serverTiming)
      .map(([k, v]) => `${k} ${median(v).toFixed(3)}`)
      .join(', ')
    console.log(`c=${c} Verity node, receipts: ${rate.toFixed(0)}/s (per 10 s: ${blocks.map((b) => b.toFixed(0)).join(' → ')})`)
    console.log(
      `    latency p50 ${pct(result.latencies, 0.5).toFixed(2)} ms, p99 ${pct(result.latencies, 0.99).toFixed(2)} ms; node CPU ${(busyCpu / result.ok).toFixed(3)} ms/receipt; client check p50 ${median(check).toFixed(3)} ms, mean ${(check.reduce((a, b) => a + b, 0) / check.length).toFixed(3)} ms/receipt`,
    )
    console.log(`    node Server-Timing p50 (ms): ${timing}`)
    console.log(
      `    CPU ms per answer, per 10 s: node ${blockCpu.map((b) => b.server.toFixed(3)).join(' → ')}; client ${blockCpu.map((b) => b.client.toFixed(3)).join(' → ')}`,
    )
    // The machine's CPU per answer (server + load client) bounds what 2 cores can answer. A receipt costs at
    // least what the run reference's answer costs plus the receipt's own work (node and client): the ceiling.
    const nodeTotal = (busyCpu + clientCpu) / result.ok
    const runTotal = refCpu.run!.server + refCpu.run!.client
    const floorTotal = runTotal + receiptWork + floor.check / 1000
    const ceiling = (cores * 1000) / floorTotal
    console.log(
      `    CPU per answer, server + client (ms): node ${(busyCpu / result.ok).toFixed(3)} + ${(clientCpu / result.ok).toFixed(3)} = ${nodeTotal.toFixed(3)} (${((cores * 1000) / nodeTotal).toFixed(0)}/s on ${cores} cores), Verity run ${refCpu.run!.server.toFixed(3)} + ${refCpu.run!.client.toFixed(3)} = ${runTotal.toFixed(3)}; a receipt at least ${runTotal.toFixed(3)} + ${receiptWork.toFixed(3)} (node) + ${(floor.check / 1000).toFixed(3)} (client check) = ${floorTotal.toFixed(3)} ms: at most ${ceiling.toFixed(0)} receipts/s, ${(ceiling / refs.run!).toFixed(2)}× the run reference${c === 1 ? `; p50 at least ${(refCpu.run!.p50 + fsyncMs + receiptWork).toFixed(2)} ms (run p50 + one fdatasync + the receipt's work)` : ''}`,
    )
    console.log(
      `    ratio to plain onnxruntime ${(rate / refs.ort!).toFixed(2)}, to plain Verity run ${(rate / refs.run!).toFixed(2)}; last block / first ${(blocks.at(-1)! / blocks[0]!).toFixed(2)}${result.failed ? `; ${result.failed} failed ${JSON.stringify(result.errors)}` : ''}${result.exhausted ? '; ran out of pre-signed requests' : ''}; load ${load}; signed ${phase.presign} in ${(idleMs / 1000).toFixed(1)} s (idle node ${(idleRate * 1000).toFixed(0)} ms CPU/s)`,
    )
    // The ratio to the `run` reference again, in alternating rounds: the machine's speed moves by a
    // third from one minute to the next here, and the long phases above ran minutes apart.
    const rounds: RoundPair[] = []
    if (c === 32 && ratioRounds > 0) {
      for (let r = 0; r < ratioRounds; r++) {
        const pair = { node: 0, run: 0 }
        for (const target of r % 2 === 0 ? (['run', 'node'] as const) : (['node', 'run'] as const)) {
          const proc = target === 'node' ? node : run
          const { result: round } = await runPhase(
            {
              target,
              url: String(proc.info.url),
              concurrency: c,
              seconds: roundSeconds,
              presign: target === 'node' ? Math.ceil(maxRate * roundSeconds) : 0,
            },
            proc.child.pid!,
          )
          pair[target] = round.ok / roundSeconds
        }
        rounds.push(pair)
      }
      const summary = summariseRounds(rounds)
      console.log(
        `    alternating rounds (${ratioRounds} × ${roundSeconds} s each side): receipts/s / run answers/s ${rounds.map((p) => `${p.node.toFixed(0)}/${p.run.toFixed(0)}`).join(', ')}; ratio median ${summary.median.toFixed(2)} (${summary.min.toFixed(2)}–${summary.max.toFixed(2)})`,
      )
    }
    outcomes.push({
      concurrency: c,
      rate,
      runRef: refs.run!,
      rounds,
      runP50: refCpu.run!.p50,
      blocks,
      p50: pct(result.latencies, 0.5),
      checkP50: median(check),
    })
    rows.push(
      `| ${c} | ${refs.ort!.toFixed(0)} | ${refs.run!.toFixed(0)} | ${rate.toFixed(0)} (${blocks.map((b) => b.toFixed(0)).join(' → ')}) | ${pct(result.latencies, 0.5).toFixed(2)} / ${pct(result.latencies, 0.99).toFixed(2)} | ${(busyCpu / result.ok).toFixed(3)} | ${median(check).toFixed(3)} | ${nodeTotal.toFixed(3)} / ${runTotal.toFixed(3)} | ${ceiling.toFixed(0)} (${(ceiling / refs.run!).toFixed(2)}×) | ${(rate / refs.ort!).toFixed(2)} | ${(rate / refs.run!).toFixed(2)} | ${load} |`,
    )
  }
  console.log(
    '\n| c | onnxruntime ref /s | Verity run ref /s | node receipts/s (per 10 s) | p50 / p99 ms | node CPU ms/receipt | client check ms | CPU ms per answer, node + client / run + client | receipt ceiling /s (× run) | ratio to ort | ratio to run | load |',
  )
  console.log('| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |')
  for (const row of rows) console.log(row)
  if (workload.name === 'mnist-8') {
    console.log(`\nthe fast path's targets, judged on this run (docs/benchmarks.md, "The fast path under load"):`)
    for (const line of judgeTargets(outcomes, prefill)) console.log(`  ${line}`)
  } else console.log(`\nthe fast path's targets are stated for mnist-8: not judged on ${workload.name}`)

  for (const p of [client, ort, run, node]) p.child.stdin!.end()
  await new Promise((r) => setTimeout(r, 1000))
  for (const p of [client, ort, run, node]) if (p.child.exitCode === null) p.child.kill()
  rmSync(dir, { recursive: true, force: true })
}

/** The node process's CPU per ms of wall time while no request arrives (batcher, followers, chain), over 2 s. */
async function idleCpuRate(pid: number): Promise<number> {
  const read = () => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100
  }
  const t0 = performance.now()
  const c0 = read()
  await new Promise((r) => setTimeout(r, 2000))
  return (read() - c0) / (performance.now() - t0)
}

/** The SDK's checks of a node's answer (node signature, receipt fields, output hash), from its body as sent. */
function checkAnswerBody(
  model: ReturnType<typeof loadModel>,
  text: string,
  request: InferenceRequest,
  client: Hex,
  domain: { chainId: number; settlement: Address },
): WireOutputs {
  const parsed = JSON.parse(text) as { receipt: unknown; signature: Hex; outputs: Record<string, { raw: number[] | string }> }
  const tensors = checkAnswer({
    domain,
    client,
    request,
    receipt: receiptFromWire(parsed.receipt),
    signature: parsed.signature,
    outputs: parsed.outputs,
    outputCount: model.model.outputs.length,
  })
  // As the SDK's `infer` returns them: the model's names and scales, values computed from the checked raw.
  return outputsToWire(model, tensors)
}

/**
 * What a receipt adds to the plain `run` server's work, each part timed alone on one thread (µs per
 * call, the median of five rounds): the node's `answerRequest` (the signature recovered, the inputs'
 * hash, the run, the receipt's hash and signature, the JSON) less the run alone, the request's EIP-712
 * hash (on the node's event loop), and the SDK's check of the answer (the client's: parsing, recovery,
 * hashes). Storage, pricing, the batcher, larger HTTP bodies are not in it: a lower bound.
 */
function receiptFloor(
  model: ReturnType<typeof loadModel>,
  wire: string,
  setup: { modelId: Hex; clientKey: Hex; domain: { chainId: number; settlement: Address } },
): Floor {
  const key = `0x${'11'.repeat(32)}` as Hex
  const node = privateKeyToAccount(key).address
  const client = privateKeyToAccount(setup.clientKey).address.toLowerCase() as Hex
  const inputs = inputsFromWire(model, JSON.parse(wire))
  const request: InferenceRequest = {
    modelId: setup.modelId.toLowerCase() as Hex,
    inputHash: tensorsHash(inputs),
    node,
    mode: encodeMode('optimistic'),
    maxFee: PRICE,
    nonce: 1n,
    deadline: BigInt(Math.floor(Date.now() / 1000) + 3600),
    channelTotal: PRICE,
  }
  const requestHash = hashRequest(request, setup.domain)
  const job = {
    request,
    requestHash,
    signature: signDigest(setup.clientKey, requestHash),
    client,
    claimed: true,
    inputs,
    fee: PRICE,
    nowMs: Date.now(),
    // As the load client and the SDK ask: outputs without values, raw in base64.
    values: false,
    encoding: 'base64' as const,
  }
  const context = { model, node, key, domain: setup.domain }
  const body = answerRequest(job, context).body
  const check = () => checkAnswerBody(model, body, request, client, setup.domain)
  const bytes = new Uint8Array(inputs[0]!.buffer, inputs[0]!.byteOffset, inputs[0]!.byteLength)
  // Each function timed in rounds of 400 calls, the functions taking turns (so a slower moment of the machine
  // falls on all of them), after 200 calls each to warm up: µs per call, the median of 7 rounds.
  const parts = {
    tensorRoot: () => tensorRoot(bytes),
    run: () => runQuantized(model, inputs),
    answer: () => answerRequest(job, context),
    hashRequest: () => hashRequest(request, setup.domain),
    check,
  }
  const rounds = Object.fromEntries(Object.keys(parts).map((k) => [k, [] as number[]]))
  // A slower model (a language model's forward pass) in fewer calls: about 80 ms of runs a round.
  const t0 = performance.now()
  runQuantized(model, inputs)
  const calls = Math.max(2, Math.min(400, Math.round(80 / (performance.now() - t0))))
  for (const fn of Object.values(parts)) for (let i = 0; i < calls / 2; i++) fn()
  for (let r = 0; r < 7; r++)
    for (const [name, fn] of Object.entries(parts)) {
      const t = performance.now()
      for (let i = 0; i < calls; i++) fn()
      rounds[name]!.push(((performance.now() - t) * 1000) / calls)
    }
  return Object.fromEntries(Object.entries(rounds).map(([k, v]) => [k, v.sort((a, b) => a - b)[3]!])) as Floor
}

/** The disk's fdatasync after appending one 4-KiB page (the smallest commit), ms, p50 of 300: a durable answer waits for one. */
function fsyncFloor(dir: string): number {
  const fd = openSync(join(dir, 'fsync-probe'), 'w')
  const page = Buffer.alloc(4096, 1)
  const times: number[] = []
  try {
    for (let i = 0; i < 300; i++) {
      writeSync(fd, page)
      const t = performance.now()
      fdatasyncSync(fd)
      times.push(performance.now() - t)
    }
  } finally {
    closeSync(fd)
  }
  return times.sort((a, b) => a - b)[150]!
}
