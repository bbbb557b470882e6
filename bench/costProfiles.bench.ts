// CPU cost of one verification (= one re-execution: integer kernels + output hash) per model, measured
// with process.cpuUsage on this machine, written to packages/sim/costProfiles.json for `verity sim`.
// Run: npm run bench:profiles   (models from ../shared are skipped with one line when absent)
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import type { FloatTensor, LoadedModel } from '../packages/runtime/src/index.js'
import { importOnnx, loadMnist, mnistImage, quantizeInputs, runQuantized, tensorsHash } from '../packages/runtime/src/index.js'
import { importShakespeare, importStories, languageModelsPresent } from '../packages/runtime/test/languageModelFixtures.js'

const root = join(import.meta.dirname, '..')
const shared = join(root, '..', 'shared')
const out = join(root, 'packages', 'sim', 'costProfiles.json')

type Profile = { model: string; cpuMsPerInference: number; runs: number; description: string }
const profiles: Profile[] = []

/** Median CPU ms (user + system) of `runs` calls after one warm-up. */
function cpuMs(runs: number, f: (i: number) => unknown): number {
  f(0)
  const xs: number[] = []
  for (let i = 0; i < runs; i++) {
    const t = process.cpuUsage()
    f(i)
    const d = process.cpuUsage(t)
    xs.push((d.user + d.system) / 1000)
  }
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
}

function measure(model: string, description: string, m: LoadedModel, inputs: Int16Array[][], runs: number) {
  const ms = cpuMs(runs, (i) => tensorsHash(runQuantized(m, inputs[i % inputs.length] as Int16Array[]).outputs))
  profiles.push({ model, cpuMsPerInference: Number(ms.toFixed(3)), runs, description })
  console.log(`${model.padEnd(18)} ${ms.toFixed(3).padStart(10)} ms CPU per inference (median of ${runs})`)
}

{
  const set = loadMnist(join(root, 'data', 'datasets', 'mnist'))
  const calibration = Array.from({ length: 200 }, (_, i) => ({ Input3: mnistImage(set, set.count - 1 - i) }))
  const { model } = importOnnx(readFileSync(join(root, 'data', 'models', 'mnist-8.onnx')), { calibration, fileName: 'mnist-8.onnx' })
  const inputs = Array.from({ length: 100 }, (_, i) => quantizeInputs(model, { Input3: mnistImage(set, i) }))
  measure('mnist-8', 'MNIST CNN, 1×28×28 image', model, inputs, 500)
}
for (const [name, file, runs, inputName] of [
  ['squeezenet', 'light_squeezenet.onnx', 10, 'data_0'],
  ['resnet50', 'light_resnet50.onnx', 5, 'gpu_0/data_0'],
] as const) {
  const path = join(shared, 'onnx-backend-tests', 'light', file)
  if (!existsSync(path)) {
    console.log(`skipped ${name}: ${path} absent (the ONNX backend tests in ../shared)`)
    continue
  }
  let seed = 1
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed / 2 ** 31
  }
  const input: FloatTensor = { dtype: 'float32', shape: [1, 3, 224, 224], data: Float64Array.from({ length: 3 * 224 * 224 }, rand) }
  const { model } = importOnnx(readFileSync(path), { calibration: [{ [inputName]: input }], fileName: file })
  measure(name, `${file} (ONNX backend tests), 1×3×224×224 image`, model, [quantizeInputs(model, { [inputName]: input })], runs)
}
if (!languageModelsPresent) console.log('skipped stories260K, shakespeare-char: ../shared/models absent')
else {
  for (const [name, lm, n] of [
    ['stories260K', importStories(128).lm, 128],
    ['shakespeare-char', importShakespeare().lm, 256],
  ] as const) {
    const ids = Int16Array.from({ length: n }, (_, i) => (i * 7 + 1) % 60)
    measure(name, `language model, one forward pass over ${n} tokens (the receipt of a ${n}-token window)`, lm.model, [[ids]], 3)
  }
}
const doc = {
  generatedBy: 'npm run bench:profiles (bench/costProfiles.bench.ts)',
  machine: `${cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}, one thread`,
  profiles,
}
writeFileSync(out, `${JSON.stringify(doc, null, 2)}\n`)
console.log(`wrote ${out}`)
