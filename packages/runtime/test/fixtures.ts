import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FloatTensor, ImportResult } from '../src/index.js'
import { importOnnx, loadMnist, mnistImage, seededRandom } from '../src/index.js'

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
/** ../shared, relative to the repository root: the large corpora, not shipped (the ONNX backend tests). */
export const sharedDir = join(repoRoot, '..', 'shared')
/** mnist-8 and the MNIST test set, shipped in the repository's data/ (data/README.md). */
export const mnistModelPath = join(repoRoot, 'data', 'models', 'mnist-8.onnx')
export const mnistDir = join(repoRoot, 'data', 'datasets', 'mnist')
export const lightDir = join(sharedDir, 'onnx-backend-tests', 'light')

/**
 * Whether the ONNX backend tests (`onnx/backend/test/data` of the onnx repository) are at
 * ../shared/onnx-backend-tests. When they are not, prints one line saying what `skipped` names and
 * how to get them, and returns false (the caller skips).
 */
export function haveBackendTests(skipped: string): boolean {
  const dir = join(sharedDir, 'onnx-backend-tests')
  if (existsSync(join(dir, 'node'))) return true
  console.log(
    `skipped ${skipped}: the ONNX backend tests are not at ${dir} (CI has them; to run these, copy onnx/backend/test/data of github.com/onnx/onnx there)`,
  )
  return false
}

/** Deterministic PRNG (mulberry32). */
export const prng = seededRandom

let mnist: ImportResult | undefined

/** mnist-8 imported with the last 500 test images as calibration (cached per test file). */
export function importMnist(): ImportResult {
  if (mnist) return mnist
  const set = loadMnist(mnistDir)
  const calibration = Array.from({ length: 500 }, (_, i) => ({ Input3: mnistImage(set, set.count - 1 - i) }))
  mnist = importOnnx(readFileSync(mnistModelPath), { calibration, fileName: 'mnist-8.onnx' })
  return mnist
}

/** A seeded uniform random input of the given shape in [lo, hi). */
export function randomInput(shape: number[], seed: number, lo = 0, hi = 1): FloatTensor {
  const rand = prng(seed)
  const n = shape.reduce((a, b) => a * b, 1)
  return { dtype: 'float32', shape, data: Float64Array.from({ length: n }, () => lo + rand() * (hi - lo)) }
}

/** A light_* architecture imported with one seeded random calibration input. */
export function importLight(name: string): { result: ImportResult; input: FloatTensor; inputName: string } {
  const bytes = readFileSync(join(lightDir, `light_${name}.onnx`))
  const input = randomInput([1, 3, 224, 224], 42)
  const inputName = name === 'resnet50' || name === 'shufflenet' || name === 'zfnet512' ? 'gpu_0/data_0' : 'data_0'
  const result = importOnnx(bytes, { calibration: [{ [inputName]: input }], fileName: `light_${name}.onnx` })
  return { result, input, inputName }
}
