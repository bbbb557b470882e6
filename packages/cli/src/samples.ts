import { readFileSync } from 'node:fs'
import type { FloatTensor, LoadedModel, TensorInput } from '@verity/runtime'
import { BaseError, decodeOnnx, loadMnist, mnistImage, seededRandom } from '@verity/runtime'
import { imageFormat, imageInput } from './imageInput.js'

/** A malformed command-line argument: what was expected and what was given. */
export class UsageError extends BaseError {
  override name = 'UsageError'
  constructor(shortMessage: string, details: Record<string, unknown> = {}) {
    super('USAGE', shortMessage, { details })
  }
}

/**
 * Calibration samples from a dataset spec:
 * - `mnist:<dir>` — the last `count` images of the MNIST test set in <dir> (raw pixels 0..255);
 * - `random[:<lo>,<hi>]` — `count` seeded uniform inputs in [lo, hi) (default [0, 1));
 * - `<file.json>` — an array of input objects `{ <input>: { shape, data } }`.
 */
export function calibrationSamples(spec: string, onnx: Uint8Array, count: number): Record<string, FloatTensor>[] {
  const inputs = decodeOnnx(onnx).inputs
  if (spec.startsWith('mnist:')) {
    const set = loadMnist(spec.slice(6))
    const name = inputs[0]?.name as string
    const n = Math.min(count, set.count)
    return Array.from({ length: n }, (_, i) => ({ [name]: mnistImage(set, set.count - 1 - i) }))
  }
  if (spec === 'random' || spec.startsWith('random:')) {
    const [lo, hi] = spec === 'random' ? [0, 1] : spec.slice(7).split(',').map(Number)
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new UsageError('random:<lo>,<hi> needs two numbers', { found: spec })
    const rand = seededRandom(1)
    return Array.from({ length: count }, () =>
      Object.fromEntries(
        inputs.map((inp) => {
          const shape = inp.shape.map((d, i) => (typeof d === 'number' && d > 0 ? d : i === 0 ? 1 : Number.NaN))
          const size = shape.reduce((a, b) => a * b, 1)
          if (!Number.isFinite(size))
            throw new UsageError(`Input ${inp.name} has symbolic dimensions; use a JSON calibration file`, { shape: inp.shape })
          return [
            inp.name,
            {
              dtype: 'float32',
              shape,
              data: Float64Array.from({ length: size }, () => (lo as number) + rand() * ((hi as number) - (lo as number))),
            },
          ]
        }),
      ),
    )
  }
  const parsed = readJson(spec)
  if (!Array.isArray(parsed)) throw new UsageError('A calibration file must hold a JSON array of inputs', { file: spec })
  return parsed
    .slice(0, count)
    .map((sample: Record<string, { shape: number[]; data: number[] }>) =>
      Object.fromEntries(
        Object.entries(sample).map(([k, v]) => [k, { dtype: 'float32' as const, shape: v.shape, data: Float64Array.from(v.data) }]),
      ),
    )
}

export function readJson(path: string): unknown {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (cause) {
    throw new UsageError(`Cannot read ${path}`, { file: path, reason: (cause as Error).message })
  }
  try {
    return JSON.parse(text)
  } catch (cause) {
    throw new UsageError(`${path} is not valid JSON`, { file: path, reason: (cause as Error).message })
  }
}

/**
 * Inputs for one run from `--input`, named and shaped by the model's input spec:
 * - `mnist:<dir>#<index>` — one MNIST test image (pixels 0..255) as the model's first input;
 * - a PNG or JPEG file — decoded and resized to the first input's shape (`imageInput`: pixels 0..255);
 * - a JSON file — `{ <input>: {shape, data} }`, or `{shape, data}` for a single-input model, with
 *   `data` in the model's real input units (what the float ONNX model takes; the runtime quantizes
 *   it with the artifact's input scale): 0..255 pixel values for mnist-8.
 */
export function runInputs(spec: string, model: LoadedModel): Record<string, TensorInput> {
  const specs = model.model.inputs.map((id) => model.model.tensors[id]!)
  const names = specs.map((t) => t.name)
  const mnist = /^mnist:(.+)#(\d+)$/.exec(spec)
  if (mnist) {
    const set = loadMnist(mnist[1] as string)
    const i = Number(mnist[2])
    if (i >= set.count) throw new UsageError('MNIST index out of range', { expected: `0..${set.count - 1}`, found: i })
    return { [names[0] as string]: mnistImage(set, i) }
  }
  if (!spec.endsWith('.json')) {
    const bytes = readBytes(spec, 'input')
    if (imageFormat(bytes)) return { [names[0] as string]: imageInput(bytes, specs[0]!.shape, spec) }
  }
  const parsed = readJson(spec) as Record<string, unknown>
  if (parsed && typeof parsed === 'object' && 'shape' in parsed && 'data' in parsed && names.length === 1) {
    return { [names[0] as string]: parsed as unknown as TensorInput }
  }
  return parsed as Record<string, TensorInput>
}

export function readBytes(path: string, what: string): Uint8Array {
  try {
    return readFileSync(path)
  } catch (cause) {
    throw new UsageError(`Cannot read ${what} ${path}`, { file: path, reason: (cause as Error).message })
  }
}
