/**
 * Language models in the integer runtime (../shared/models): stories260K (Llama-2, RMSNorm, rotary,
 * grouped-query attention, SwiGLU) and shakespeare-char (GPT-2, LayerNorm, GELU). Lean subsets of
 * bench/lm.bench.ts, which reports the full figures.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import * as ort from 'onnxruntime-node'
import { describe, expect, it } from 'vitest'
import type { Trace } from '../src/index.js'
import { createDecoder, decodeOnnx, decodeTensorProto, generate, importOnnx, runQuantized } from '../src/index.js'
import { checkWitnesses, nodeTestsDir } from './backendTests.js'
import {
  argmaxRow,
  charPath,
  crossEntropy,
  expected,
  importShakespeare,
  importStories,
  languageModelsPresent,
  modelsDir,
  shakespeareSplit,
  storiesTokenizer,
} from './languageModelFixtures.js'

if (!languageModelsPresent)
  console.log(`skipped language model tests: ${modelsDir} (stories260K, shakespeare-char) or Tiny Shakespeare is absent`)

describe.skipIf(!languageModelsPresent)('stories260K in exact integer arithmetic', () => {
  it('tokenizes like llama2.c: tok512.bin decodes greedy_ids to greedy_text and encodes it back', () => {
    const tok = storiesTokenizer()
    const { greedy_ids, greedy_text } = expected().stories260K
    expect(tok.decode(greedy_ids)).toBe(greedy_text)
    expect(tok.encode(greedy_text)).toEqual(greedy_ids)
    // Byte fallback: a character outside the 512 pieces becomes its UTF-8 bytes (<0xXX> = 3 + byte).
    const emoji = tok.encode('🙂', { bos: false })
    expect(emoji.slice(1)).toEqual([0xf0, 0x9f, 0x99, 0x82].map((b) => b + 3))
    expect(tok.decode([1, ...emoji])).toBe('🙂')
  })

  it('greedy generation from BOS matches the float model (int16 weights: all 100 tokens; the bench also reports int8)', () => {
    const { lm } = importStories()
    const ids = expected().stories260K.greedy_ids
    const { tokens } = generate(lm, { prompt: [1], maxTokens: 100 })
    let same = 0
    while (same < tokens.length && tokens[same] === ids[same + 1]) same++
    expect(same).toBeGreaterThanOrEqual(95)
    expect(storiesTokenizer().decode([1, ...tokens.slice(0, 60)])).toBe(storiesTokenizer().decode(ids.slice(0, 61)))
  })

  it('incremental decoding with the key/value cache reproduces the full-sequence logits bit for bit', () => {
    const { lm } = importStories()
    const ids = expected().stories260K.greedy_ids.slice(0, 48)
    const x = new Int16Array(lm.context)
    x.set(ids)
    const full = runQuantized(lm.model, [x]).outputs[0] as Int16Array
    const decoder = createDecoder(lm)
    const rows = [decoder.append(ids.slice(0, 7)), ...ids.slice(7).map((t) => decoder.append([t]))]
    const incremental = new Int16Array(ids.length * lm.vocab)
    let at = 0
    for (const r of rows) {
      incremental.set(r, at)
      at += r.length
    }
    expect(Buffer.from(incremental.buffer).equals(Buffer.from(full.buffer, 0, incremental.byteLength))).toBe(true)
    expect(() => decoder.append([lm.vocab])).toThrow(expect.objectContaining({ code: 'INVALID_MODEL' }))
  })

  it('every node of the graph opens single values whose witnesses verify and recompute the committed value', () => {
    const { lm } = importStories()
    const x = new Int16Array(lm.context)
    x.set(expected().stories260K.greedy_ids)
    const { trace } = runQuantized(lm.model, [x], { trace: true })
    const { checked, failures } = checkWitnesses(lm.model, trace as Trace, 1, 7)
    expect(failures).toEqual([])
    expect(checked).toBe(lm.model.nodes.length)
  })

  it('a generation commits every step; the same tokens and root re-running the artifact in a worker thread and in another process', async () => {
    const { lm, artifact } = importStories()
    const prompt = storiesTokenizer().encode('Once upon a time')
    const options = { prompt, maxTokens: 8, temperature: 0.9, seed: 42 }
    const cached = generate(lm, options)
    expect(cached.steps.map((s) => s.position)).toEqual(Array.from({ length: 8 }, (_, i) => prompt.length - 1 + i))
    const dir = mkdtempSync(join(tmpdir(), 'verity-lm-'))
    const path = join(dir, 'stories260K.vrty')
    writeFileSync(path, artifact)
    const inWorker = new Promise((resolve, reject) => {
      const worker = new Worker(new URL('./generateOnceWorker.mjs', import.meta.url), { workerData: { artifact: path, options } })
      worker.once('message', (m) => {
        resolve(m)
        void worker.terminate()
      })
      worker.once('error', reject)
    })
    const inProcess = new Promise((resolve, reject) => {
      const runner = new URL('./generateOnce.ts', import.meta.url).pathname
      execFile(process.execPath, ['--import', 'tsx', runner, path, JSON.stringify(options)], (error, stdout) =>
        error ? reject(error) : resolve(JSON.parse(stdout)),
      )
    })
    const expected = { ...cached, artifactHash: lm.model.artifactHash }
    expect(await inWorker).toEqual(expected)
    expect(await inProcess).toEqual(expected)
    const other = generate(lm, { ...options, seed: 43 })
    expect(other.root).not.toBe(cached.root)
    expect(other.tokens).not.toEqual(cached.tokens)
    expect(generate(lm, { prompt, maxTokens: 8 }).root).not.toBe(cached.root)
  })
})

describe.skipIf(!languageModelsPresent)('shakespeare-char in exact integer arithmetic', () => {
  it('keeps validation loss within 0.02 nats of the float model and top-1 agreement ≥ 99 % (2 of the 435 windows)', async () => {
    const { lm } = importShakespeare()
    const { val } = shakespeareSplit()
    const session = await ort.InferenceSession.create(charPath, { intraOpNumThreads: 1 })
    let intLoss = 0
    let floatLoss = 0
    let agree = 0
    const windows = [0, 217]
    for (const k of windows) {
      const input = val.slice(256 * k, 256 * k + 256)
      const targets = val.slice(256 * k + 1, 256 * k + 257)
      const q = runQuantized(lm.model, [Int16Array.from(input)]).outputs[0] as Int16Array
      const out = await session.run({ idx: new ort.Tensor('int64', BigInt64Array.from(input, BigInt), [1, 256]) })
      const f = out.logits?.data as Float32Array
      intLoss += crossEntropy(q, lm.logitScale, lm.vocab, targets) / windows.length
      floatLoss += crossEntropy(f, 1, lm.vocab, targets) / windows.length
      for (let p = 0; p < 256; p++) if (argmaxRow(q, lm.vocab, p) === argmaxRow(f, lm.vocab, p)) agree++
    }
    expect(Math.abs(intLoss - floatLoss)).toBeLessThan(0.02)
    expect(agree / (256 * windows.length)).toBeGreaterThanOrEqual(0.99)
  })
})

describe.skipIf(!existsSync(nodeTestsDir))('transformer ops outside their patterns', () => {
  const importTest = (name: string) => () => {
    const dir = join(nodeTestsDir, name)
    const input = decodeTensorProto(readFileSync(join(dir, 'test_data_set_0', 'input_0.pb')))
    const model = decodeOnnx(readFileSync(join(dir, 'model.onnx')))
    const calibration = Object.fromEntries(
      model.inputs.map((i, k) => [
        i.name,
        k === 0 ? input : decodeTensorProto(readFileSync(join(dir, 'test_data_set_0', `input_${k}.pb`))),
      ]),
    )
    return importOnnx(readFileSync(join(dir, 'model.onnx')), { calibration: [calibration] })
  }
  it('are rejected with UNSUPPORTED_OP naming the node: Sqrt, Pow by an activation, Div by an activation', () => {
    for (const [test, op] of [
      ['test_sqrt', 'Sqrt'],
      ['test_pow', 'Pow'],
      ['test_div', 'Div'],
    ] as const) {
      expect(importTest(test)).toThrow(
        expect.objectContaining({ code: 'UNSUPPORTED_OP', details: expect.objectContaining({ opType: op, node: expect.any(String) }) }),
      )
    }
  })
})
