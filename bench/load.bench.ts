/**
 * Load benchmark of the fast path (docs/benchmarks.md, "The fast path under load"), all in one run:
 * - an inference node in its own process (embedded chain, hub, mnist-8, batcher and chain followers on),
 * - a plain HTTP server + onnxruntime-node (float mnist-8, no receipts) and a plain HTTP server +
 *   Verity `runQuantized` (no receipts), each in its own process,
 * - a load client in another process, with requests signed before each measured phase (native
 *   secp256k1), keep-alive connections, `c` requests in flight.
 * For each concurrency it prints receipts/s per 10-s block, p50/p99 latency, the node's CPU per
 * receipt (its process: HTTP, checks, run, signing, SQLite, batcher, embedded chain), the client's CPU
 * per checked receipt (the SDK's `checkAnswer`), the node's Server-Timing steps, and the ratio to the
 * references.
 *
 *   npm run bench:load -- [--seconds 60] [--ref-seconds 20] [--concurrency 1,8,32] [--prefill 1000000]
 *     [--max-rate 4000] (requests signed per second of a node phase) [--profile DIR] (V8 CPU profile of the node)
 *     [--checkpointer 0|1] (the WAL checkpointed by a thread of its own, the default, or inside commits)
 *     [--stats 1] (node figures every 5 s on stderr) [--workers N] (the node answers requests in N worker threads, default 1; 0: on the event loop)
 *     [--inline-run-ms N] (a lone request runs a model whose last run took ≤ N ms on the event loop, default 1; 0: never)
 *     [--writer-thread 1] (receipts written in their own thread, not on the event loop)
 *     [--finalize 0] (the node never finalizes) [--node-flags "..."] (flags of the node process)
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { Agent, createServer, request as httpRequest } from 'node:http'
import { loadavg, tmpdir } from 'node:os'
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
  inputsToWire,
  nativeSecp256k1,
  nodeRegistryAbi,
  Role,
  receiptFromWire,
  requestToWire,
  signDigest,
  verityTokenAbi,
} from '@verity/contracts'
import { createHub, createInferenceNode, publishModel, serveApp } from '@verity/node'
import { loadMnist, loadModel, mnistImage, quantizeInputs, runQuantized, type TensorInfo, tensorsHash } from '@verity/runtime'
import { checkAnswer, createVerityClient, depositEscrow } from '@verity/sdk'
import type { Address, Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { demoData } from '../packages/cli/src/demoData.js'
import { importMnist } from '../packages/cli/src/devnet/startDevnet.js'

const self = fileURLToPath(import.meta.url)
const flag = (name: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : undefined
}
const TOKEN = 10n ** 18n
const PRICE = 10n ** 15n
const role = flag('role') ?? 'main'

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
  const session = await ort.InferenceSession.create(demoData.onnx, { intraOpNumThreads: 1 })
  const url = await jsonServer(async (body) => {
    const { Input3 } = JSON.parse(body) as { Input3: number[] }
    const out = await session.run({ Input3: new ort.Tensor('float32', Float32Array.from(Input3), [1, 1, 28, 28]) })
    const first = Object.values(out)[0]!
    return JSON.stringify({ outputs: { [Object.keys(out)[0]!]: { shape: first.dims, values: Array.from(first.data as Float32Array) } } })
  })
  ready({ url })
}

if (role === 'run') {
  const model = loadModel(new Uint8Array(readFileSync(flag('artifact')!)))
  const url = await jsonServer((body) => {
    const inputs = inputsFromWire(model, (JSON.parse(body) as { inputs: unknown }).inputs)
    const { outputs } = runQuantized(model, inputs)
    return JSON.stringify({
      outputs: Object.fromEntries(
        model.model.outputs.map((id, i) => {
          const info = model.model.tensors[id] as TensorInfo
          const raw = Array.from(outputs[i] as Int16Array)
          return [info.name, { shape: info.shape, scale: info.scale, raw, values: raw.map((v) => v * info.scale) }]
        }),
      ),
    })
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
  const mnist = loadMnist(demoData.mnist)
  const artifactPath = join(dir, 'mnist-8.vrty')
  const artifact = importMnist(demoData.onnx, mnist, artifactPath)
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
    runWorkers: Number(flag('workers') ?? 1),
    inlineRunMaxMs: Number(flag('inline-run-ms') ?? 1),
    writerThread: flag('writer-thread') === '1',
    checkpointer: flag('checkpointer') !== '0',
    finalize: flag('finalize') !== '0',
    redeem: { minAmount: 1000n * PRICE, maxAgeMs: 60_000 },
    log: (line) => process.stderr.write(`node: ${line}\n`),
  })
  const prefill = Number(flag('prefill') ?? 0)
  if (prefill > 0) prefillStore(node.store, prefill, published.modelId, nodeAccount!.address)
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
      `stats: ${node.store.counts().inferences} stored, wal ${(size(`${dbPath}-wal`) / 1e6).toFixed(1)} MB, db ${(size(dbPath) / 1e6).toFixed(1)} MB; flush ms p50 ${q(w.flushMs, 0.5)} max ${q(w.flushMs, 1)} (${w.flushMs.length}); fsync ms p50 ${q(w.syncMs, 0.5)} p90 ${q(w.syncMs, 0.9)} max ${q(w.syncMs, 1)}; group p50 ${q(w.groupSizes, 0.5)}; ${c ? `checkpointer ${c.runs} runs (${c.busy} busy, ${c.failures} failed) ${c.ms.toFixed(0)} ms, WAL frames ${c.log} (${c.checkpointed} copied)` : 'no checkpointer'}; event loop delay p99 ${(loopDelay.percentile(99) / 1e6).toFixed(1)} max ${(loopDelay.max / 1e6).toFixed(1)} ms; gc ms ${JSON.stringify(Object.fromEntries(Object.entries(gc).map(([k, v]) => [k, Math.round(v)])))}; cpu ${((used.user + used.system) / 5000).toFixed(0)} ms/s; heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB, external ${(process.memoryUsage().external / 1e6).toFixed(0)} MB (array buffers ${(process.memoryUsage().arrayBuffers / 1e6).toFixed(0)} MB)\n`,
    )
    loopDelay.reset()
    for (const k of Object.keys(gc)) delete gc[k]
  }, 5000).unref()
}

/**
 * `n` receipts of another client in one finalized batch, its channel fully paid: the history a
 * long-running node carries, which the request path must not scan. Written straight into SQLite.
 */
function prefillStore(store: ReturnType<typeof createInferenceNode>['store'], n: number, modelId: Hex, node: Address) {
  const started = performance.now()
  const db = store.db
  const client = '0x000000000000000000000000000000000000beef'
  const hex = (i: number, tag: string) => `0x${tag}${i.toString(16).padStart(64 - tag.length, '0')}`
  const insertBatch = db.prepare(
    "INSERT INTO batches (root, count, fee_total, created_at_ms, status, batch_id, committed_at, commit_block, finalized_at, sequence) VALUES (?, ?, ?, ?, 'finalized', ?, 0, 0, 0, NULL)",
  )
  const insert = db.prepare(
    `INSERT INTO inferences (id, request_hash, client, nonce, model_id, input_hash, output_hash, fee, mode, issued_at, executed_at_ms,
       receipt_json, signature, request_json, client_signature, outputs_json, compute_ms, channel_total, batch_local, batch_index)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, '{}', '0x', '{}', '0x', '{}', 0.1, ?, ?, ?)`,
  )
  const perBatch = 1024
  let batchLocal = 0
  db.pragma('synchronous = OFF')
  for (let from = 0; from < n; from += 100_000) {
    db.transaction(() => {
      for (let i = from; i < Math.min(n, from + 100_000); i++) {
        if (i % perBatch === 0)
          batchLocal = Number(insertBatch.run(hex(i, 'ba'), perBatch, '0', 0, 1_000_000_000 + i / perBatch).lastInsertRowid)
        insert.run(
          hex(i, 'a1'),
          hex(i, 'b2'),
          client,
          String(i),
          modelId,
          hex(i % 1000, 'c3'),
          hex(i, 'd4'),
          PRICE.toString(),
          ((BigInt(i) + 1n) * PRICE).toString().padStart(40, '0'),
          batchLocal,
          i % perBatch,
        )
      }
    })()
  }
  const total = (BigInt(n) * PRICE).toString()
  db.prepare('INSERT INTO channels (client, authorized, charged, paid) VALUES (?, ?, ?, ?)').run(client, total, total, total)
  db.pragma('synchronous = FULL')
  process.stderr.write(`prefilled ${n} receipts in ${((performance.now() - started) / 1000).toFixed(1)} s (node ${node})\n`)
}

// ─── the load client ─────────────────────────────────────────────────────────────────────────────

type Phase = { target: 'node' | 'ort' | 'run'; url: string; concurrency: number; seconds: number; presign: number }
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
  const mnist = loadMnist(demoData.mnist)
  const images = Array.from({ length: 100 }, (_, i) => mnistImage(mnist, i))
  const quantized = images.map((image) => quantizeInputs(model, { Input3: image }))
  const wireInputs = quantized.map((q) => JSON.stringify(inputsToWire(model, q)))
  const inputHashes = quantized.map((q) => tensorsHash(q))
  const floatBodies = images.map((image) => JSON.stringify({ Input3: Array.from(image.data) }))
  const client = privateKeyToAccount(setup.clientKey).address
  let nonce = BigInt(Date.now()) * 1000n
  // Each request authorizes the whole deposit as its channel total (a prepaid cap): every request is then
  // independent of the others' order, so pre-signed requests can be sent by any connection.
  const channelTotal = 40_000n * TOKEN

  process.stdout.write('{"ready":true}\n')
  const lines = createInterface({ input: process.stdin })
  for await (const line of lines) {
    const phase = JSON.parse(line) as Phase
    // Requests are signed before the phase starts: the load client spends its CPU on sending and checking.
    const signStarted = performance.now()
    const signed: { request: InferenceRequest; body: string }[] = []
    if (phase.target === 'node') {
      for (let i = 0; i < phase.presign; i++) {
        const image = i % 100
        const request: InferenceRequest = {
          modelId: setup.modelId.toLowerCase() as Hex,
          inputHash: inputHashes[image]!,
          node: setup.node,
          mode: encodeMode('optimistic'),
          maxFee: PRICE,
          nonce: nonce++,
          deadline: BigInt(Math.floor(Date.now() / 1000) + 3600),
          channelTotal,
        }
        const signature = signDigest(setup.clientKey, hashRequest(request, setup.domain))
        signed.push({
          request,
          body: `{"request":${JSON.stringify(requestToWire(request))},"signature":"${signature}","inputs":${wireInputs[image]},"client":"${client}"}`,
        })
      }
    }
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
            const s = signed[i]
            if (!s) {
              result.exhausted = true
              return
            }
            signed[i] = undefined as never
            body = s.body
            request = s.request
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
            // The SDK's checks of an answer (node signature, receipt fields, output hash): this process's CPU time for them.
            const c0 = process.cpuUsage()
            const parsed = JSON.parse(answer.text) as { receipt: unknown; signature: Hex; outputs: Record<string, { raw: number[] }> }
            checkAnswer({
              domain: setup.domain,
              client,
              request,
              receipt: receiptFromWire(parsed.receipt),
              signature: parsed.signature,
              outputs: parsed.outputs,
              outputCount: 1,
            })
            const used = process.cpuUsage(c0)
            result.checkMs.push((used.user + used.system) / 1000)
            for (const part of answer.timing?.split(', ') ?? []) {
              const [name, dur] = part.split(';dur=')
              if (result.ok % 10 === 0) result.serverTiming[name!] = [...(result.serverTiming[name!] ?? []), Number(dur)]
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
    `load bench: ${seconds} s per node phase, ${refSeconds} s per reference phase, concurrency ${levels.join(', ')}, prefill ${prefill}`,
  )
  console.log(
    `native secp256k1: ${nativeSecp256k1}; requests answered in ${Number(flag('workers') ?? 1)} worker thread(s) (0: on the event loop), inline when alone and ≤ ${Number(flag('inline-run-ms') ?? 1)} ms`,
  )
  const profile = flag('profile')
  const node = await start(
    [
      '--role',
      'node',
      '--dir',
      dir,
      '--prefill',
      String(prefill),
      ...(flag('stats') === '1' ? ['--stats', '1'] : []),
      '--workers',
      flag('workers') ?? '1',
      '--inline-run-ms',
      flag('inline-run-ms') ?? '1',
      '--writer-thread',
      flag('writer-thread') ?? '0',
      '--checkpointer',
      flag('checkpointer') ?? '1',
    ],
    [...(profile ? [`--cpu-prof`, `--cpu-prof-dir=${profile}`] : []), ...(flag('node-flags')?.split(' ').filter(Boolean) ?? [])],
  )
  console.log(`node ready at ${node.info.url} (${node.info.stored} receipts stored)`)
  const ort = await start(['--role', 'ort'])
  const run = await start(['--role', 'run', '--artifact', String(node.info.artifact)])
  const client = await start(['--role', 'client', '--setup', JSON.stringify(node.info)])

  const runPhase = async (phase: Phase, pid: number) => {
    client.child.stdin!.write(`${JSON.stringify(phase)}\n`)
    // The client signs first, then says it starts: the server's CPU is taken over the measured span only.
    await client.lines.next()
    const before = cpuMs(pid)
    const line = await client.lines.next()
    const result = JSON.parse(line.value) as PhaseResult
    return { result, serverCpu: cpuMs(pid) - before }
  }

  const rows: string[] = []
  for (const c of levels) {
    const refs: Record<string, number> = {}
    for (const target of ['ort', 'run'] as const) {
      const proc = target === 'ort' ? ort : run
      const { result } = await runPhase(
        { target, url: String(proc.info.url), concurrency: c, seconds: refSeconds, presign: 0 },
        proc.child.pid!,
      )
      refs[target] = result.ok / refSeconds
      console.log(
        `c=${c} ${target === 'ort' ? 'plain HTTP + onnxruntime-node' : 'plain HTTP + Verity run     '}: ${refs[target]!.toFixed(0)}/s, p50 ${pct(result.latencies, 0.5).toFixed(2)} ms, p99 ${pct(result.latencies, 0.99).toFixed(2)} ms${result.failed ? `, ${result.failed} failed` : ''}`,
      )
    }
    const phase: Phase = { target: 'node', url: String(node.info.url), concurrency: c, seconds, presign: Math.ceil(maxRate * seconds) }
    const idleRate = await idleCpuRate(node.child.pid!)
    const loadBefore = loadavg()[0]!
    const { result, serverCpu: busyCpu } = await runPhase(phase, node.child.pid!)
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
      `    ratio to plain onnxruntime ${(rate / refs.ort!).toFixed(2)}, to plain Verity run ${(rate / refs.run!).toFixed(2)}; last block / first ${(blocks.at(-1)! / blocks[0]!).toFixed(2)}${result.failed ? `; ${result.failed} failed ${JSON.stringify(result.errors)}` : ''}${result.exhausted ? '; ran out of pre-signed requests' : ''}; load ${load}; signed ${phase.presign} in ${(idleMs / 1000).toFixed(1)} s (idle node ${(idleRate * 1000).toFixed(0)} ms CPU/s)`,
    )
    rows.push(
      `| ${c} | ${refs.ort!.toFixed(0)} | ${refs.run!.toFixed(0)} | ${rate.toFixed(0)} (${blocks.map((b) => b.toFixed(0)).join(' → ')}) | ${pct(result.latencies, 0.5).toFixed(2)} / ${pct(result.latencies, 0.99).toFixed(2)} | ${(busyCpu / result.ok).toFixed(3)} | ${median(check).toFixed(3)} | ${(rate / refs.ort!).toFixed(2)} | ${(rate / refs.run!).toFixed(2)} | ${load} |`,
    )
  }
  console.log(
    '\n| c | onnxruntime ref /s | Verity run ref /s | node receipts/s (per 10 s) | p50 / p99 ms | node CPU ms/receipt | client check ms | ratio to ort | ratio to run | load |',
  )
  console.log('| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |')
  for (const row of rows) console.log(row)

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
