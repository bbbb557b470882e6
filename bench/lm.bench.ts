// Language models in the exact integer runtime against onnxruntime-node (float32, one thread):
// accuracy (stories260K greedy from BOS, shakespeare-char validation loss and top-1 agreement over
// the 435 windows), where precision is lost (per op), and speed (prefill 64 / 256 tokens, decode
// tokens/s, memory).
// Run: npm run bench:lm   (or: npx tsx --conditions=source bench/lm.bench.ts [--windows N] [--skip-accuracy])
import { readFileSync } from 'node:fs'
import * as ort from 'onnxruntime-node'
import type { LanguageModel } from '../packages/runtime/src/index.js'
import { createDecoder, decodeOnnx, generate, lowerOnnx, onnxOps, runQuantized } from '../packages/runtime/src/index.js'
import {
  argmaxRow,
  charPath,
  crossEntropy,
  expected,
  importShakespeare,
  importStories,
  shakespeareSplit,
  storiesPath,
  storiesTokenizer,
} from '../packages/runtime/test/languageModelFixtures.js'

const arg = (name: string) => {
  const i = process.argv.indexOf(name)
  return i < 0 ? undefined : process.argv[i + 1]
}
const windows = Number(arg('--windows') ?? 435)
const skipAccuracy = process.argv.includes('--skip-accuracy')
const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

async function session(path: string) {
  return ort.InferenceSession.create(path, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  })
}
const ortFeed = (name: string, ids: readonly number[]) => ({
  [name]: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
})

/** Median ms of `runs` calls after one warm-up. */
async function timeIt(runs: number, f: () => unknown): Promise<number> {
  await f()
  const xs: number[] = []
  for (let i = 0; i < runs; i++) {
    const t = performance.now()
    await f()
    xs.push(performance.now() - t)
  }
  return median(xs)
}

/** Prefill latency at 64 and 256 tokens, decode tokens/s, KV cache size and RSS, integer vs onnxruntime. */
async function speed(name: string, lm: LanguageModel, onnxPath: string, inputName: string, tokens: number[]) {
  const s = await session(onnxPath)
  console.log(`\n${name} speed (one thread; integer = this runtime, ort = onnxruntime-node float32)`)
  for (const n of [64, 256]) {
    const ids = tokens.slice(0, n)
    const int = await timeIt(3, () => createDecoder(lm).append(ids))
    const flt = await timeIt(5, () => s.run(ortFeed(inputName, ids)))
    console.log(
      `  prefill ${String(n).padStart(3)} tokens   integer ${int.toFixed(0).padStart(6)} ms   ort ${flt.toFixed(1).padStart(7)} ms   ratio ${(int / flt).toFixed(1)}×`,
    )
  }
  // Decode: 64 tokens after a 64-token prompt. The integer decoder reuses its key/value cache; the
  // exported ONNX graph has no cache inputs, so onnxruntime re-runs the whole prefix per token.
  const prompt = tokens.slice(0, 64)
  const steps = 64
  const d = createDecoder(lm)
  d.append(prompt)
  const t0 = performance.now()
  for (let i = 0; i < steps; i++) d.append([tokens[64 + i] as number])
  const intRate = (steps * 1000) / (performance.now() - t0)
  const t1 = performance.now()
  for (let i = 0; i < steps; i++) await s.run(ortFeed(inputName, tokens.slice(0, 65 + i)))
  const ortRate = (steps * 1000) / (performance.now() - t1)
  // Per-token cost must not grow with the prefix: the last 16 steps against the first 16.
  const early: number[] = []
  const late: number[] = []
  const d2 = createDecoder(lm)
  d2.append(tokens.slice(0, 8))
  for (let i = 8; i < Math.min(lm.context, 200); i++) {
    const t = performance.now()
    d2.append([tokens[i] as number])
    ;(i < 24 ? early : i >= Math.min(lm.context, 200) - 16 ? late : []).push(performance.now() - t)
  }
  const cache = lm.model.nodes
    .filter((n) => n.op === 'MatMulAct')
    .reduce((a, n) => a + 2 * (n.inShapes[1] as number[]).reduce((x, y) => x * y, 1), 0)
  console.log(
    `  decode (64 tokens after 64)  integer ${intRate.toFixed(1)} tokens/s (KV cache)   ort ${ortRate.toFixed(1)} tokens/s (full prefix per token, no cache in the export)`,
  )
  console.log(
    `  decode step at position 8–24: ${median(early).toFixed(1)} ms, at ${Math.min(lm.context, 200) - 16}–${Math.min(lm.context, 200)}: ${median(late).toFixed(1)} ms`,
  )
  console.log(
    `  memory: KV cache ${mb(cache)} (int16, context ${lm.context}), artifact ${mb(lm.model.artifact.length)}, process RSS ${mb(process.memoryUsage().rss)}`,
  )
  await s.release()
}

/**
 * Where precision is lost, op by op: each float node is evaluated (float64) on the dequantized
 * integer values of its own inputs and compared with the integer node's output, so the error is
 * the one that op adds (not the error accumulated before it). Relative to max |float| of the output.
 */
function precision(name: string, lm: LanguageModel, onnx: Uint8Array, inputName: string, ids: number[]) {
  const graph = lowerOnnx(decodeOnnx(onnx), { inputShapes: { [inputName]: [1, lm.context] } })
  const values = runQuantized(lm.model, [Int16Array.from(ids)], { trace: true }).trace?.tensors as Map<number, Int16Array>
  const byName = new Map<string, { q: Int16Array; scale: number; op: string }>()
  for (const [id, q] of values) {
    const info = lm.model.model.tensors[id]
    const node = lm.model.nodes.find((n) => n.output === id)
    if (info) byName.set(info.name, { q, scale: info.scale, op: node?.op ?? 'input' })
  }
  const byOp = new Map<string, number[]>()
  for (const node of graph.nodes) {
    const out = byName.get(node.output)
    const args = node.inputs.map((n) => {
      const c = graph.constants.get(n)
      if (c) return c
      const v = byName.get(n)
      const shape = graph.shapes.get(n) ?? graph.inputs.find((i) => i.name === n)?.shape ?? []
      return { dtype: 'float32' as const, shape, data: Float64Array.from(v?.q ?? [], (x) => (v?.op === 'input' ? x : x * (v?.scale ?? 0))) }
    })
    if (!out) continue
    const f = onnxOps[node.op]?.evalFloat(node, args)
    if (!f) continue
    let err = 0
    let range = 0
    for (let i = 0; i < out.q.length; i++) {
      const x = f.data[i] as number
      if (!Number.isFinite(x)) continue
      err = Math.max(err, Math.abs((out.q[i] as number) * out.scale - x))
      range = Math.max(range, Math.abs(x))
    }
    const label = `${out.op} (${node.op})`
    if (range > 0) byOp.set(label, [...(byOp.get(label) ?? []), err / range])
  }
  console.log(`\n${name}: error each op adds (max |int − float64 on the int inputs| / max |float64| per node; median, worst over nodes)`)
  for (const [op, errs] of [...byOp].sort((a, b) => median(b[1]) - median(a[1]))) {
    console.log(
      `  ${op.padEnd(32)} ${String(errs.length).padStart(3)} nodes   median ${median(errs).toExponential(1)}   worst ${Math.max(...errs).toExponential(1)}`,
    )
  }
}

console.log(`node ${process.version}, onnxruntime-node ${ort.env.versions.common}, single thread\n`)
const J = expected()

// ---- stories260K
const ids = J.stories260K.greedy_ids
for (const bits of [8, 16] as const) {
  const t = performance.now()
  const stories = importStories(256, bits)
  const seconds = ((performance.now() - t) / 1000).toFixed(1)
  console.log(`stories260K, int${bits} weights: imported at context 256 in ${seconds} s (${stories.lm.model.nodes.length} integer nodes)`)
  const g = generate(stories.lm, { prompt: [1], maxTokens: 100 })
  let prefix = 0
  while (prefix < 100 && g.tokens[prefix] === ids[prefix + 1]) prefix++
  const positional = g.tokens.filter((tk, i) => tk === ids[i + 1]).length
  console.log(
    `  greedy from BOS: the first ${prefix} of 100 tokens equal the float greedy_ids (${positional} of 100 equal position by position)`,
  )
  console.log(`  text: ${JSON.stringify(storiesTokenizer().decode([1, ...g.tokens]))}`)
  const padded = [...ids, ...new Array(256 - ids.length).fill(0)]
  precision(`stories260K, int${bits} weights`, stories.lm, readFileSync(storiesPath), 'input_ids', padded)
}
const storyTokens = [...ids, ...storiesTokenizer().encode(J.stories260K.greedy_text, { bos: false }), ...ids].slice(0, 256)
await speed('stories260K (int8 weights)', importStories(256, 8).lm, storiesPath, 'input_ids', [...storyTokens, ...ids].slice(0, 300))

// ---- shakespeare-char
const t = performance.now()
const char = importShakespeare(4, 64)
console.log(
  `\nshakespeare-char: imported at context 256 in ${((performance.now() - t) / 1000).toFixed(1)} s, calibrated on 4 × 64 train characters`,
)
const { val } = shakespeareSplit()
if (!skipAccuracy) {
  const s = await session(charPath)
  let intLoss = 0
  let floatLoss = 0
  let agree = 0
  const t2 = performance.now()
  for (let k = 0; k < windows; k++) {
    const input = val.slice(256 * k, 256 * k + 256)
    const targets = val.slice(256 * k + 1, 256 * k + 257)
    const q = runQuantized(char.lm.model, [Int16Array.from(input)]).outputs[0] as Int16Array
    const f = (await s.run(ortFeed('idx', input))).logits?.data as Float32Array
    intLoss += crossEntropy(q, char.lm.logitScale, char.lm.vocab, targets)
    floatLoss += crossEntropy(f, 1, char.lm.vocab, targets)
    for (let p = 0; p < 256; p++) if (argmaxRow(q, char.lm.vocab, p) === argmaxRow(f, char.lm.vocab, p)) agree++
    if (k === 7)
      console.log(
        `  first 8 windows: integer ${(intLoss / 8).toFixed(4)}, onnxruntime ${(floatLoss / 8).toFixed(4)} (JSON: ${J.shakespeare_char.val_loss_fp32_first_8_windows.toFixed(4)})`,
      )
  }
  console.log(
    `  validation loss over ${windows} windows: integer ${(intLoss / windows).toFixed(4)}, onnxruntime ${(floatLoss / windows).toFixed(4)}${windows === 435 ? ` (JSON: ${J.shakespeare_char.val_loss_fp32_all_windows.toFixed(4)})` : ''}`,
  )
  console.log(
    `  next-character top-1 agreement with onnxruntime: ${((100 * agree) / (256 * windows)).toFixed(2)} % of ${256 * windows} positions (${((performance.now() - t2) / 1000).toFixed(0)} s)`,
  )
  await s.release()
}
precision('shakespeare-char', char.lm, readFileSync(charPath), 'idx', val.slice(0, 256))
await speed('shakespeare-char', char.lm, charPath, 'idx', val.slice(1000, 1400))
