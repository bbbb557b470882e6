/**
 * Harness for the ONNX backend conformance tests (`onnx/backend/test/data/node`): every node test
 * whose single node is an operator the importer accepts is imported, calibrated on its own inputs,
 * run under the integer semantics, and compared with the expected outputs within a tolerance
 * derived from the quantization scales of that very model.
 *
 * The data lives outside the repository, at `../shared/onnx-backend-tests` relative to the
 * repository root; nothing is copied in.
 *
 * ## Tolerance rules (per element, absolute, real units)
 *
 * `s_y` is the output's scale, `s_x` (`s_a`, `s_b`, `s_k`) an activation input's scale, both read
 * from `report.outputs` / `report.inputs`; `s_c` is the scale of a constant quantized as an int16
 * operand (from `model.model.tensors`); `s_w = max|w| / 127` bounds the per-row int8 weight scale.
 * A "step" is one integer unit of a scale. Every rule also adds one step of every intermediate
 * output when the importer lowers the node into several integer ops (Gemm with transA or a matrix
 * bias; from `report.layers`), a float32 slack of `1e-6 · (1 + |y|)` for the rounding of the
 * expected value itself, and, for the one test whose expected values are written by hand to 4
 * decimals, half a unit of the 4th decimal.
 *
 * - data movement and selection (Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Relu, MaxPool,
 *   GlobalMaxPool): `s_x / 2` — values are moved or selected unchanged, only the input rounds;
 * - Clip: `s_x` — input rounding plus the rounding of the bounds to the grid;
 * - AveragePool, GlobalAveragePool: `s_x` — input rounding plus the rounding of the division;
 * - elementwise (output step + Lipschitz × input steps): Add, Sub, Sum, Concat
 *   `s_y + Σ_k s_k`; Mul `s_y + max|b|·s_a + max|a|·s_b + s_a·s_b`; Div by a constant c
 *   `s_y + max|1/c|·s_a + max|a|·s_c`; BatchNormalization (y = α_c·x + β_c)
 *   `s_y + max|α|·s_x`; LeakyRelu `s_y + max(1, α)·s_x`;
 * - dot products (Conv, Gemm, MatMul) with fan-in K:
 *   `s_y + K·(max|x|·s_w/2 + max|w|·s_x/2 + s_x·s_w/4) + s_x·s_w` — rounding of the inputs,
 *   of the weights (for an activation right-hand side, `s_w` is its scale) and of the bias;
 * - table (LUT) functions f (Sigmoid, Tanh, Exp, Elu, Selu, Softplus, Softsign, Erf, HardSigmoid,
 *   HardSwish, Abs, Neg): `s_y + max_{|t| ≤ 17·s_x} |f(x + t) − f(x)|`, i.e. output step + local
 *   slope × 17 input steps: the interpolation interval is 16 steps wide and the input rounds by
 *   half a step; f is the importer's float definition evaluated around each test input;
 * - Softmax over groups of d values, exp table step h = 2^r·s_x:
 *   `s_y + y·(s_x·e^{s_x} + h²·e^h / 4) + (1 + d·y)·2^-15` — input rounding through the
 *   softmax Jacobian (Σ_j |∂y_i/∂x_j| ≤ 2·y_i), interpolation of exp, and the Q16 table rounding;
 * - LRN: `s_y + s_x·bias^{-β}·(1 + size·β) + |y|·β/128` — Lipschitz bound of x·(bias + α/size·Σx²)^{-β}
 *   plus the relative width (1/128) of the sum-of-squares buckets.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FloatTensor, ImportResult, LoadedModel, OnnxModel, RunResult, Trace } from '../src/index.js'
import {
  BaseError,
  decodeOnnx,
  decodeTensorProto,
  importOnnx,
  lowerOnnx,
  onnxOps,
  openValue,
  run,
  runFloat,
  seededRandom,
  verifyWitness,
} from '../src/index.js'

/** The repository root, from this file's location (packages/runtime/test). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
/** `../shared/onnx-backend-tests` relative to the repository root. */
export const backendTestsDir = join(repoRoot, '..', 'shared', 'onnx-backend-tests')
export const nodeTestsDir = join(backendTestsDir, 'node')
export const lightDir = join(backendTestsDir, 'light')

/** One node test: its directory and the op type of its single node. */
export type NodeTest = { name: string; dir: string; opType: string; opset: number }

export type Status = 'pass' | 'fail' | 'unsupported'

/** The largest error relative to its tolerance, at one output element. */
export type Worst = { output: string; index: number; got: number; expected: number; error: number; tolerance: number }

export type NodeTestResult = NodeTest & {
  status: Status
  /** Why the test is unsupported or failed (empty for a pass). */
  reason: string
  /** Tolerance family used (see the module comment). */
  family: string
  /** Max over elements of error / tolerance (≤ 1 means within tolerance). */
  ratio: number
  worst?: Worst
  /** Present when the model imported. */
  imported?: ImportResult
  /** Present when the model ran. */
  run?: RunResult
  /** The real-valued data inputs used (calibration and run). */
  inputs?: Record<string, FloatTensor>
}

const isFloat = (dtype: string) => dtype === 'float32' || dtype === 'float64' || dtype === 'float16'

/**
 * Inputs (by position in the node) that the runtime requires to be constant: parameters the
 * importer folds into integer constants. They are bound from the test's input files.
 */
const constantInputs: Record<string, number[]> = {
  Conv: [1, 2],
  Gemm: [1, 2],
  BatchNormalization: [1, 2, 3, 4],
  Clip: [1, 2],
  Div: [1],
  Reshape: [1],
  Squeeze: [1],
  Unsqueeze: [1],
  Gather: [1],
  Slice: [1, 2, 3, 4],
  Tile: [1],
  Expand: [1],
  Where: [0],
  LayerNormalization: [1, 2],
  RMSNormalization: [1],
}

/**
 * Tests whose expected outputs are written by hand to a few decimals rather than computed: the
 * tolerance adds half a unit of that last decimal. (test_averagepool_2d_ceil_last_window_starts_on_pad
 * expects 0.1511, 0.2841, 0.3572 where the exact averages of its inputs are 0.151056, 0.284044,
 * 0.357222.)
 */
const expectedRounding: Record<string, number> = {
  test_averagepool_2d_ceil_last_window_starts_on_pad: 0.5e-4,
}

/** Lists the node tests whose single node's op type the importer accepts, sorted by name. */
export function listNodeTests(dir = nodeTestsDir): NodeTest[] {
  const tests: NodeTest[] = []
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name, 'model.onnx')
    if (!existsSync(path)) continue
    let model: OnnxModel
    try {
      model = decodeOnnx(readFileSync(path))
    } catch {
      continue // Not decodable (e.g. string attributes of ops we do not have): not ours to classify.
    }
    const node = model.nodes[0]
    if (model.nodes.length !== 1 || !node || !onnxOps[node.opType]) continue
    tests.push({ name, dir: join(dir, name), opType: node.opType, opset: model.opset })
  }
  return tests
}

function readTensors(dir: string, prefix: 'input' | 'output'): (FloatTensor & { name: string })[] {
  const out: (FloatTensor & { name: string })[] = []
  for (let i = 0; existsSync(join(dir, `${prefix}_${i}.pb`)); i++) out.push(decodeTensorProto(readFileSync(join(dir, `${prefix}_${i}.pb`))))
  return out
}

const strip = (t: FloatTensor): FloatTensor => ({ dtype: t.dtype, shape: t.shape, data: t.data })
const maxAbs = (a: ArrayLike<number>) => {
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] as number))
  return m
}

/** A test loaded and imported, ready to run; or the reason it cannot be. */
export type PreparedTest =
  | {
      ok: true
      test: NodeTest
      model: OnnxModel
      bytes: Uint8Array
      data: Record<string, FloatTensor>
      bind: Record<string, FloatTensor>
      expected: (FloatTensor & { name: string })[]
      imported: ImportResult
    }
  | { ok: false; test: NodeTest; status: 'fail' | 'unsupported'; reason: string }

/**
 * Loads a node test, binds its non-float inputs and the parameters the runtime needs constant,
 * and imports it calibrated on the test's own data inputs.
 */
export function prepareNodeTest(test: NodeTest): PreparedTest {
  const bytes = readFileSync(join(test.dir, 'model.onnx'))
  const model = decodeOnnx(bytes)
  const node = model.nodes[0] as OnnxModel['nodes'][number]
  const unsupported = (reason: string): PreparedTest => ({ ok: false, test, status: 'unsupported', reason })
  const typeName = (dtype: string) => (dtype === 'unsupported' ? 'unsigned/other' : dtype)

  const params = new Set((constantInputs[test.opType] ?? []).map((p) => node.inputs[p]).filter((n): n is string => !!n))
  for (const info of model.inputs) {
    if (!params.has(info.name) && !isFloat(info.dtype))
      return unsupported(`non-float data type ${typeName(info.dtype)} (input "${info.name}")`)
  }
  for (const o of model.outputs) {
    if (!isFloat(o.dtype)) return unsupported(`non-float output type ${typeName(o.dtype)}`)
  }
  const setDir = join(test.dir, 'test_data_set_0')
  const inputs = readTensors(setDir, 'input')
  const expected = readTensors(setDir, 'output')
  // input_i.pb is the i-th graph input (the backend runner's convention).
  const data: Record<string, FloatTensor> = {}
  const bind: Record<string, FloatTensor> = {}
  for (const [i, info] of model.inputs.entries()) {
    const t = inputs[i]
    if (!t) return { ok: false, test, status: 'fail', reason: `missing input_${i}.pb for "${info.name}"` }
    if (params.has(info.name)) bind[info.name] = strip(t)
    else data[info.name] = strip(t)
  }
  if ([...Object.values(data), ...expected].some((t) => t.shape.includes(0))) return unsupported('zero-size tensors (a dimension of 0)')
  if (Object.keys(data).length === 0) return unsupported('no float data input to run on')
  try {
    const imported = importOnnx(bytes, { calibration: [data], bind, fileName: `${test.name}.onnx` })
    return { ok: true, test, model, bytes, data, bind, expected, imported }
  } catch (e) {
    if (e instanceof BaseError && e.code === 'UNSUPPORTED_OP') {
      return unsupported(String((e.details as { reason?: string }).reason ?? e.shortMessage))
    }
    const msg = e instanceof BaseError ? `${e.code}: ${e.shortMessage}` : `${(e as Error).name}: ${(e as Error).message}`
    return { ok: false, test, status: 'fail', reason: `import threw ${msg}` }
  }
}

/** Which tolerance rule an op follows (see the module comment). */
export function toleranceFamily(opType: string): string {
  if (['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Transpose', 'Relu', 'MaxPool', 'GlobalMaxPool'].includes(opType)) return 'move'
  if (['AveragePool', 'GlobalAveragePool'].includes(opType)) return 'pool'
  if (['Add', 'Sub', 'Sum', 'Concat'].includes(opType)) return 'linear'
  if (['Conv', 'Gemm', 'MatMul'].includes(opType)) return 'dot'
  if (['Clip', 'Mul', 'Div', 'BatchNormalization', 'LeakyRelu', 'Softmax', 'LRN'].includes(opType)) return opType.toLowerCase()
  return 'lut'
}

type Tolerance = (index: number, expected: number) => number

/** The per-element tolerance of a prepared test (output 0; every node test here has one output). */
function tolerance(p: Extract<PreparedTest, { ok: true }>): Tolerance {
  const { test, model, data, bind, imported } = p
  const { report } = imported
  const node = model.nodes[0] as OnnxModel['nodes'][number]
  const attr = (name: string, fallback: number) => {
    const v = node.attrs.get(name)
    return typeof v === 'number' ? v : fallback
  }
  const sy = (report.outputs[0] as { scale: number }).scale
  const scaleOf = (name: string) => report.inputs.find((i) => i.name === name)?.scale ?? 0
  const input = (pos: number) => {
    const name = node.inputs[pos] as string
    return { name, t: (data[name] ?? bind[name]) as FloatTensor, s: scaleOf(name) }
  }
  const x = input(0)
  // Constants the importer quantized as int16 operands carry their own scale in the model.
  const constScales = imported.model.model.tensors
    .filter((t) => t.kind === 'const' && t.dtype === 'int16' && t.scale > 0)
    .map((t) => t.scale)
  // When the importer lowers the node into several integer ops (Gemm with transA or a matrix
  // bias), each intermediate output rounds once more: one step of each, Lipschitz 1 downstream.
  const inner = report.layers.slice(0, -1).reduce((acc, l) => acc + l.scale, 0)
  const flat =
    (v: number): Tolerance =>
    () =>
      v + inner

  switch (toleranceFamily(test.opType)) {
    case 'move':
      return flat(x.s / 2)
    case 'pool':
    case 'clip':
      return flat(x.s)
    case 'linear':
      return flat(sy + node.inputs.filter((n) => n !== '').reduce((acc, n) => acc + scaleOf(n), 0))
    case 'mul': {
      const b = input(1)
      return flat(sy + maxAbs(b.t.data) * x.s + maxAbs(x.t.data) * b.s + x.s * b.s)
    }
    case 'div': {
      const c = input(1)
      const sc = constScales[0] ?? 0
      return flat(sy + maxAbs(c.t.data.map((v) => 1 / v)) * x.s + maxAbs(x.t.data) * sc)
    }
    case 'batchnormalization': {
      const [scale, , , variance] = [1, 2, 3, 4].map((i) => input(i).t) as FloatTensor[]
      const eps = attr('epsilon', 1e-5)
      const alpha = maxAbs((scale as FloatTensor).data.map((g, c) => g / Math.sqrt(((variance as FloatTensor).data[c] as number) + eps)))
      return flat(sy + alpha * x.s)
    }
    case 'leakyrelu':
      return flat(sy + Math.max(1, attr('alpha', 0.01)) * x.s)
    case 'dot': {
      const w = input(1)
      let k: number
      let sw: number
      let wMax: number
      if (test.opType === 'MatMul') {
        k = x.t.shape[x.t.shape.length - 1] as number
        sw = w.s
        wMax = maxAbs(w.t.data)
      } else if (test.opType === 'Gemm') {
        const alpha = Math.abs(attr('alpha', 1))
        k = x.t.shape[attr('transA', 0) === 1 ? 0 : 1] as number
        wMax = alpha * maxAbs(w.t.data)
        sw = wMax / 127
      } else {
        k = w.t.shape.slice(1).reduce((a, d) => a * d, 1)
        wMax = maxAbs(w.t.data)
        sw = wMax / 127
      }
      const xMax = maxAbs(x.t.data)
      return flat(sy + k * ((xMax * sw) / 2 + (wMax * x.s) / 2 + (x.s * sw) / 4) + x.s * sw)
    }
    case 'softmax': {
      const attrs = imported.model.nodes[0]?.attrs as Record<string, number>
      const h = 2 ** (attrs.r as number) * x.s
      const d = attrs.d as number
      return (_i, y) => inner + sy + Math.abs(y) * (x.s * Math.exp(x.s) + (h * h * Math.exp(h)) / 4) + (1 + d * Math.abs(y)) * 2 ** -15
    }
    case 'lrn': {
      const beta = attr('beta', 0.75)
      const bias = attr('bias', 1)
      const size = attr('size', 1)
      return (_i, y) => inner + sy + x.s * bias ** -beta * (1 + size * beta) + (Math.abs(y) * beta) / 128
    }
    default: {
      // Table functions: ω_f(x, 17 steps), from the importer's own float graph around each input.
      const graph = lowerOnnx(model, { bind })
      const at = (offset: number) => {
        const shifted = { ...x.t, data: x.t.data.map((v) => v + offset) }
        return (runFloat(graph, { [x.name]: shifted }).get(graph.outputs[0] as string) as FloatTensor).data
      }
      const base = at(0)
      const omega = new Float64Array(base.length)
      for (let k = -17; k <= 17; k++) {
        if (k === 0) continue
        const v = at(k * x.s)
        for (let i = 0; i < omega.length; i++) omega[i] = Math.max(omega[i] as number, Math.abs((v[i] as number) - (base[i] as number)))
      }
      return (i) => inner + sy + (omega[i] as number)
    }
  }
}

/** Runs a prepared test and compares every output with the expected one. */
export function evaluateNodeTest(p: PreparedTest, options: { trace?: boolean } = {}): NodeTestResult {
  const family = toleranceFamily(p.test.opType)
  if (!p.ok) return { ...p.test, status: p.status, reason: p.reason, family, ratio: Number.NaN }
  const base = { ...p.test, family, imported: p.imported, inputs: p.data }
  let result: RunResult
  try {
    result = run(p.imported.model, Object.fromEntries(Object.entries(p.data).map(([k, t]) => [k, { shape: t.shape, data: t.data }])), {
      trace: options.trace ?? false,
    })
  } catch (e) {
    return { ...base, status: 'fail', reason: `run threw ${(e as Error).message.split('\n')[0]}`, ratio: Number.NaN }
  }
  if (result.outputs.length !== p.expected.length) {
    return {
      ...base,
      run: result,
      status: 'fail',
      reason: `${result.outputs.length} outputs, expected ${p.expected.length}`,
      ratio: Number.NaN,
    }
  }
  const tol = tolerance(p)
  let worst: Worst | undefined
  let ratio = 0
  for (const [k, out] of result.outputs.entries()) {
    const exp = p.expected[k] as FloatTensor
    if (out.shape.length !== exp.shape.length || out.shape.some((d, i) => d !== exp.shape[i])) {
      return { ...base, run: result, status: 'fail', reason: `output shape [${out.shape}], expected [${exp.shape}]`, ratio: Number.NaN }
    }
    for (let i = 0; i < out.values.length; i++) {
      const y = exp.data[i] as number
      const got = out.values[i] as number
      const t = tol(i, y) + 1e-6 * (1 + Math.abs(y)) + (expectedRounding[p.test.name] ?? 0)
      const error = Math.abs(got - y)
      const r = Number.isFinite(y) ? error / t : Number.POSITIVE_INFINITY
      if (r > ratio || !worst) {
        ratio = Math.max(ratio, r)
        worst = { output: out.name, index: i, got, expected: y, error, tolerance: t }
      }
    }
  }
  const status: Status = ratio <= 1 ? 'pass' : 'fail'
  const reason =
    status === 'pass'
      ? ''
      : `max error ${worst?.error.toExponential(3)} > tolerance ${worst?.tolerance.toExponential(3)} at ${worst?.output}[${worst?.index}] (got ${worst?.got}, expected ${worst?.expected})`
  return { ...base, run: result, status, reason, ratio, ...(worst ? { worst } : {}) }
}

/** Prepares, runs and compares one node test. */
export function runNodeTest(test: NodeTest, options: { trace?: boolean } = {}): NodeTestResult {
  return evaluateNodeTest(prepareNodeTest(test), options)
}

/** Deterministic PRNG (mulberry32). */
export const prng = seededRandom

/**
 * Opens `perNode` seeded-random output values of every node of a traced run and verifies each
 * witness (reference single-value evaluation against the fast kernel, and the Merkle proofs).
 * Returns the failures (empty when all verify) and the number checked.
 */
export function checkWitnesses(model: LoadedModel, trace: Trace, perNode: number, seed: number): { checked: number; failures: string[] } {
  const rand = prng(seed)
  const failures: string[] = []
  let checked = 0
  for (const node of model.nodes) {
    const out = trace.tensors.get(node.output) as Int16Array
    if (out.length === 0) continue
    for (let k = 0; k < perNode; k++) {
      const index = Math.floor(rand() * out.length)
      const check = verifyWitness(openValue(model, trace, node.index, index), { model, traceRoot: trace.root })
      checked++
      if (!check.ok) failures.push(`${node.op} #${node.index} [${index}]: ${check.reason}`)
      else if (check.value !== out[index])
        failures.push(`${node.op} #${node.index} [${index}]: witness ${check.value}, kernel ${out[index]}`)
    }
  }
  return { checked, failures }
}

/** The light_* architectures of the backend tests (input and output names are read from the models). */
export const lightModels = [
  'bvlc_alexnet',
  'densenet121',
  'inception_v1',
  'inception_v2',
  'resnet50',
  'shufflenet',
  'squeezenet',
  'vgg19',
  'zfnet512',
] as const

/**
 * The light architectures `conformance.test.ts` runs (about 15 s of the several minutes all nine
 * take): together they hold every op type of the nine (the test checks it), shufflenet Transpose and
 * Sum, squeezenet Dropout and GlobalAveragePool, inception_v1 LRN, inception_v2 the Unsqueeze·Mul +
 * Add lowering of BatchNormalization. `npx tsx bench/conformance.ts --light` runs all nine through
 * the same `checkLightModel` and exits non-zero when one is beyond tolerance.
 */
export const testedLightModels = ['inception_v1', 'inception_v2', 'shufflenet', 'squeezenet'] as const

/** The op types of a light model's graph (its nodes before import). */
export function lightOpTypes(name: string): Set<string> {
  return new Set(decodeOnnx(readFileSync(join(lightDir, `light_${name}.onnx`))).nodes.map((n) => n.opType))
}

/**
 * The input the ONNX backend runner feeds the light models (and from which their expected
 * outputs were computed): `Runner.generate_dummy_data(x, seed=0, random=False)` in
 * onnx/backend/test/runner/__init__.py, i.e. `(np.arange(n).reshape(shape) / n).astype(np.float32)`.
 */
export function lightInput(shape: number[]): FloatTensor {
  const n = shape.reduce((a, b) => a * b, 1)
  return { dtype: 'float32', shape, data: Float64Array.from({ length: n }, (_, i) => Math.fround(i / n)) }
}

/**
 * Imports a light_* architecture, calibrated on one seeded uniform input in [0, 1) (mulberry32
 * seed 42) without the per-layer report; returns the model and its input's name and shape.
 */
export function importLightModel(name: string): { model: LoadedModel; inputName: string; shape: number[] } {
  const bytes = readFileSync(join(lightDir, `light_${name}.onnx`))
  const input = decodeOnnx(bytes).inputs[0] as { name: string; shape: (number | string)[] }
  const shape = input.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1))
  const rand = prng(42)
  const calibration: FloatTensor = { dtype: 'float32', shape, data: Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, rand) }
  const { model } = importOnnx(bytes, { calibration: [{ [input.name]: calibration }], reportSamples: 0, fileName: `light_${name}.onnx` })
  return { model, inputName: input.name, shape }
}

/** A light model imported, run on the runner's input and compared with the expected output. */
export type LightCheck = {
  name: string
  /** Integer ops after import. */
  ops: number
  outputs: number
  shape: number[]
  expectedShape: number[]
  allFinite: boolean
  scale: number
  /** Largest |output − expected| over the elements. */
  maxError: number
  /**
   * Two output steps plus 0.5 % of the largest expected magnitude: the error of a whole quantized
   * network, calibrated on a different input, has no tight a-priori bound.
   */
  tolerance: number
  importSeconds: number
  runSeconds: number
}

/** Imports a light_* architecture, runs it on the backend runner's input and measures its error. */
export function checkLightModel(name: string): LightCheck {
  let t = performance.now()
  const { model, inputName, shape } = importLightModel(name)
  const importSeconds = (performance.now() - t) / 1000
  t = performance.now()
  const { outputs } = run(model, { [inputName]: lightInput(shape) })
  const runSeconds = (performance.now() - t) / 1000
  const expected = decodeTensorProto(readFileSync(join(lightDir, `light_${name}_output_0.pb`)))
  const out = outputs[0] as RunResult['outputs'][number]
  let maxExpected = 0
  let maxError = 0
  for (let i = 0; i < out.values.length; i++) {
    maxExpected = Math.max(maxExpected, Math.abs(expected.data[i] as number))
    maxError = Math.max(maxError, Math.abs((out.values[i] as number) - (expected.data[i] as number)))
  }
  return {
    name,
    ops: model.nodes.length,
    outputs: outputs.length,
    shape: out.shape,
    expectedShape: expected.shape,
    allFinite: out.values.every(Number.isFinite),
    scale: out.scale,
    maxError,
    tolerance: 2 * out.scale + 0.005 * maxExpected,
    importSeconds,
    runSeconds,
  }
}
