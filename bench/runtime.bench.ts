// Runtime latency against onnxruntime-node (float32, one thread), in the same process.
// Run: npm run bench   (or: npx tsx bench/runtime.bench.ts [--quick])
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import type { FloatTensor, LoadedModel } from '../packages/runtime/src/index.js'
import { importOnnx, loadMnist, mnistImage, quantizeInputs, run, runQuantized } from '../packages/runtime/src/index.js'

const shared = join(import.meta.dirname, '..', '..', 'shared')
const quick = process.argv.includes('--quick')

type Stats = { min: number; median: number; mean: number; runs: number }

function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b)
  return {
    min: s[0] as number,
    median: s[Math.floor(s.length / 2)] as number,
    mean: s.reduce((a, b) => a + b, 0) / s.length,
    runs: s.length,
  }
}

async function time(runs: number, f: (i: number) => unknown | Promise<unknown>): Promise<Stats> {
  for (let i = 0; i < Math.min(50, runs); i++) await f(i)
  const samples: number[] = []
  for (let i = 0; i < runs; i++) {
    const t = performance.now()
    await f(i)
    samples.push(performance.now() - t)
  }
  return stats(samples)
}

async function bench(name: string, onnxPath: string, model: LoadedModel, inputName: string, inputs: FloatTensor[], runs: number) {
  const session = await ort.InferenceSession.create(onnxPath, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  })
  const feeds = inputs.map((x) => ({ [session.inputNames[0] as string]: new ort.Tensor('float32', Float32Array.from(x.data), x.shape) }))
  const quantized = inputs.map((x) => quantizeInputs(model, { [inputName]: { shape: x.shape, data: x.data } }))
  const ortStats = await time(runs, (i) => session.run(feeds[i % feeds.length] as Record<string, ort.Tensor>))
  const kernel = await time(runs, (i) => runQuantized(model, quantized[i % quantized.length] as Int16Array[]))
  const full = await time(runs, (i) => run(model, { [inputName]: inputs[i % inputs.length] as FloatTensor }))
  const traced = await time(Math.max(5, Math.floor(runs / 10)), (i) =>
    run(model, { [inputName]: inputs[i % inputs.length] as FloatTensor }, { trace: true }),
  )
  await session.release()
  const row = (label: string, s: Stats) =>
    `| ${name} | ${label} | ${s.min.toFixed(3)} | ${s.median.toFixed(3)} | ${(s.min / ortStats.min).toFixed(1)}× | ${(s.median / ortStats.median).toFixed(1)}× | ${s.runs} |`
  return [
    row('onnxruntime-node float32', ortStats),
    row('verity runQuantized (integer kernels)', kernel),
    row('verity run (quantize input + kernels + hashes)', full),
    row('verity run with trace (hash every activation)', traced),
  ]
}

const rows: string[] = []
{
  const set = loadMnist(join(import.meta.dirname, '..', 'data', 'datasets', 'mnist'))
  const onnxPath = join(import.meta.dirname, '..', 'data', 'models', 'mnist-8.onnx')
  const calibration = Array.from({ length: 500 }, (_, i) => ({
    Input3: mnistImage(set, set.count - 1 - i),
  }))
  const { model } = importOnnx(readFileSync(onnxPath), { calibration, fileName: 'mnist-8.onnx' })
  const inputs = Array.from({ length: 100 }, (_, i) => mnistImage(set, i))
  rows.push(...(await bench('mnist-8', onnxPath, model, 'Input3', inputs, quick ? 200 : 2000)))
}
{
  const onnxPath = join(shared, 'onnx-backend-tests', 'light', 'light_squeezenet.onnx')
  let seed = 1
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed / 2 ** 31
  }
  const input: FloatTensor = { dtype: 'float32', shape: [1, 3, 224, 224], data: Float64Array.from({ length: 3 * 224 * 224 }, rand) }
  const { model } = importOnnx(readFileSync(onnxPath), { calibration: [{ data_0: input }], fileName: 'light_squeezenet.onnx' })
  rows.push(...(await bench('squeezenet (light)', onnxPath, model, 'data_0', [input], quick ? 5 : 20)))
}

console.log(`node ${process.version}, onnxruntime-node ${ort.env.versions.common}, single thread, times in ms per image\n`)
console.log('| model | runtime | min | median | ratio (min) | ratio (median) | runs |')
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: |')
for (const r of rows) console.log(r)
