/**
 * Network benchmarks (docs/benchmarks.md, "The network"):
 * 1. fast-path latency: a receipt through HTTP (client signing, node checks, execution, receipt
 *    signing, durable SQLite write, client checks) against the bare runtime call on the same inputs;
 * 2. node throughput with the receipt store on (concurrent clients, one node);
 * 3. the trust gap at the devnet defaults: time from the receipt to COMMITTED, ATTESTED and FINAL.
 *
 *   npx tsx --conditions=source bench/network.bench.ts [--requests 300] [--window 30]
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mnistImage, quantizeInputs, runQuantized } from '@verity/runtime'
import { type InferReturnType, infer } from '@verity/sdk'
import { startDevnet } from '../packages/cli/src/devnet/startDevnet.js'
import { createTrustTracker } from '../packages/cli/src/devnet/trustTracker.js'

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const requests = arg('requests', 300)
const window = arg('window', 30)
const pct = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(p * values.length))]!
const ms = (v: number) => `${v.toFixed(2)} ms`

const net = await startDevnet({
  dir: join(mkdtempSync(join(tmpdir(), 'verity-bench-')), 'net'),
  window,
})
const model = await net.client.model(net.modelId)
const images = Array.from({ length: 100 }, (_, i) => ({ Input3: mnistImage(net.mnist, i) }))

// 1. Bare runtime call vs a receipt through HTTP, sequential, after warm-up.
const bare: number[] = []
for (let r = 0; r < 20; r++) runQuantized(model, quantizeInputs(model, images[r % 100]!))
for (let r = 0; r < 2000; r++) {
  const t = performance.now()
  runQuantized(model, quantizeInputs(model, images[r % 100]!))
  bare.push(performance.now() - t)
}
for (let r = 0; r < 20; r++) await infer(net.client, { modelId: net.modelId, inputs: images[r % 100]!, node: net.nodes[0]!.url })
// The node reports where its time goes in a Server-Timing header; collect it from every answer.
const nodeTimes = new Map<string, number[]>()
const plainFetch = globalThis.fetch
globalThis.fetch = async (input, init) => {
  const response = await plainFetch(input, init)
  for (const part of response.headers.get('server-timing')?.split(', ') ?? []) {
    const [name, dur] = part.split(';dur=')
    nodeTimes.set(name!, [...(nodeTimes.get(name!) ?? []), Number(dur)])
  }
  return response
}
const http: number[] = []
for (let r = 0; r < requests; r++) {
  const t = performance.now()
  await infer(net.client, { modelId: net.modelId, inputs: images[r % 100]!, node: net.nodes[0]!.url })
  http.push(performance.now() - t)
}
console.log('fast path (sequential, one node)')
console.log(`  bare runtime call (quantize + run)   p50 ${ms(pct(bare, 0.5))}  p99 ${ms(pct(bare, 0.99))}  (${bare.length} runs)`)
console.log(`  receipt through HTTP (SDK infer)     p50 ${ms(pct(http, 0.5))}  p99 ${ms(pct(http, 0.99))}  (${http.length} requests)`)
console.log(
  `  overhead                             p50 +${ms(pct(http, 0.5) - pct(bare, 0.5))}  ratio ${(pct(http, 0.5) / pct(bare, 0.5)).toFixed(1)}×`,
)
globalThis.fetch = plainFetch
const nodeTotal = [...nodeTimes.values()].reduce((sum, v) => sum + pct(v, 0.5), 0)
console.log(
  `  inside the node (Server-Timing p50 per step, ms): ${[...nodeTimes].map(([k, v]) => `${k} ${pct(v, 0.5).toFixed(2)}`).join(', ')}; sum ${nodeTotal.toFixed(2)}`,
)

// 2. Throughput of one node, 8 concurrent clients' worth of requests in flight.
const total = Math.max(requests, 400)
let next = 0
const t0 = performance.now()
await Promise.all(
  Array.from({ length: 8 }, async () => {
    for (let r = next++; r < total; r = next++)
      await infer(net.client, { modelId: net.modelId, inputs: images[r % 100]!, node: net.nodes[0]!.url })
  }),
)
const seconds = (performance.now() - t0) / 1000
console.log(`throughput: ${total} requests, 8 in flight, one node: ${(total / seconds).toFixed(0)} inferences/s (${seconds.toFixed(1)} s)`)

// 3. Trust gap at the devnet defaults: 200 requests over both nodes, each followed to FINAL through
//    the chain events (timed when first seen, polling every 50 ms), so observing adds no load.
const tracker = createTrustTracker({ chain: net.chain, book: net.book, fromBlock: (await net.chain.publicClient.getBlockNumber()) + 1n })
const tracked: { result: InferReturnType; at: number; position?: { batchId: number; index: number } }[] = []
for (let r = 0; r < 200; r++) {
  const result = await infer(net.client, { modelId: net.modelId, inputs: images[r % 100]!, node: net.nodes[r % 2]!.url })
  tracked.push({ result, at: Date.now() })
  await new Promise((resolve) => setTimeout(resolve, 25))
}
const deadline = Date.now() + (window * 4 + 60) * 1000
while (Date.now() < deadline) {
  for (const t of tracked.filter((x) => x.position === undefined)) {
    const r = (await (await fetch(`${t.result.node.url}/v1/inferences/${t.result.inferenceId}`)).json()) as {
      batch: { batchId: number | null; index: number } | null
    }
    if (r.batch?.batchId != null) t.position = { batchId: r.batch.batchId, index: r.batch.index }
  }
  if (tracked.every((t) => t.position && tracker.trust(t.position.batchId, t.position.index).reached.FINAL !== undefined)) break
  await new Promise((resolve) => setTimeout(resolve, 250))
}
await tracker.stop()
console.log(`trust gap (window ${window} s, sample rate 0.3, 3 verifiers, batches of 32 or 1 s; seconds after the receipt)`)
for (const level of ['COMMITTED', 'ATTESTED', 'FINAL'] as const) {
  const gaps = tracked.flatMap((t) => {
    const at = t.position ? tracker.trust(t.position.batchId, t.position.index).reached[level] : undefined
    return at === undefined ? [] : [Math.max(0, at - t.at) / 1000]
  })
  if (gaps.length === 0) console.log(`  ${level.padEnd(10)} none`)
  else
    console.log(
      `  ${level.padEnd(10)} ${gaps.length}/200  p50 ${pct(gaps, 0.5).toFixed(2)}  p90 ${pct(gaps, 0.9).toFixed(2)}  p99 ${pct(gaps, 0.99).toFixed(2)}`,
    )
}
await net.stop()
