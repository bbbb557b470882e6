import { basename } from 'node:path'
import { encodeArtifact } from './artifact/artifact.js'
import { InvalidModelError } from './errors.js'
import { runGraph } from './execute.js'
import type { LowerOptions } from './graph/lowerOnnx.js'
import { lowerOnnx } from './graph/lowerOnnx.js'
import { quantizeGraph } from './graph/quantizeGraph.js'
import { calibrate, runFloat } from './graph/runFloat.js'
import { quantizeInputs } from './input.js'
import type { Hex, LoadedModel } from './loadModel.js'
import { loadModel } from './loadModel.js'
import { sha256, toHex } from './merkle.js'
import type { TensorInfo } from './model.js'
import { decodeOnnx } from './onnx/decodeOnnx.js'
import type { FloatTensor } from './tensor.js'
import { sizeOf } from './tensor.js'

export type ImportOptions = LowerOptions & {
  /** Calibration inputs, each keyed by input name. At least one is required. */
  calibration: Record<string, FloatTensor>[]
  /** Name recorded in the artifact (defaults to the file name without extension). */
  name?: string
  /** Source file name recorded in the artifact. */
  fileName?: string
  /** How many calibration samples the per-layer error report runs (default 16). */
  reportSamples?: number
}

/** Per-layer error of the integer model against the float64 graph on calibration samples. */
export type LayerReport = {
  name: string
  op: string
  scale: number
  /** max |float| of the layer's output over the samples. */
  range: number
  maxAbsError: number
  meanAbsError: number
  /** Fraction of output values at the int16 limits. */
  saturated: number
}

export type QuantizationReport = {
  /** sha256 of the artifact (the model id, which also commits to the graph and spec, is `identifyModel` in @verity/contracts). */
  artifactHash: Hex
  weightsRoot: Hex
  source: { file: string; sha256: string; opset: number }
  onnxOps: Record<string, number>
  ops: Record<string, number>
  /** Number of constant values in the artifact, by integer type. */
  weights: { total: number; int8: number; int16: number; int32: number }
  artifactBytes: number
  calibrationSamples: number
  inputs: { name: string; shape: number[]; scale: number }[]
  outputs: { name: string; shape: number[]; scale: number }[]
  layers: LayerReport[]
}

export type ImportResult = { artifact: Uint8Array; model: LoadedModel; report: QuantizationReport }

/**
 * Imports a float ONNX model: decode, fold and fuse, calibrate on the given inputs, quantize to
 * the integer semantics, and encode the canonical artifact.
 *
 * @example
 * const { artifact, report } = importOnnx(readFileSync('mnist-8.onnx'), { calibration: samples })
 * console.log(report.artifactHash)
 */
export function importOnnx(onnx: Uint8Array, options: ImportOptions): ImportResult {
  const decoded = decodeOnnx(onnx)
  const graph = lowerOnnx(decoded, options)
  if (options.calibration.length === 0) throw new InvalidModelError('Calibration needs at least one sample', { samples: 0 })
  const stats = calibrate(graph, options.calibration)
  const file = options.fileName ?? 'model.onnx'
  const source = { file: basename(file), sha256: toHex(sha256(onnx)).slice(2), opset: decoded.opset }
  const model = quantizeGraph(graph, stats, { name: options.name ?? basename(file).replace(/\.onnx$/, ''), source })
  const artifact = encodeArtifact(model)
  const loaded = loadModel(artifact)

  // Per-layer error on up to `reportSamples` calibration samples.
  const samples = options.calibration.slice(0, options.reportSamples ?? 16)
  const acc = new Map<number, { max: number; sum: number; count: number; sat: number; range: number }>()
  for (const sample of samples) {
    const floats = new Map<string, FloatTensor>()
    runFloat(graph, sample, (name, t) => floats.set(name, t))
    const q = quantizeInputs(loaded, Object.fromEntries(Object.entries(sample).map(([k, t]) => [k, { shape: t.shape, data: t.data }])))
    const ints = runGraph(loaded, q, false)
    for (const node of loaded.nodes) {
      const info = model.tensors[node.output] as TensorInfo
      const f = floats.get(info.name) as FloatTensor
      const v = ints.get(node.output) as Int16Array
      const a = acc.get(node.index) ?? { max: 0, sum: 0, count: 0, sat: 0, range: 0 }
      for (let i = 0; i < v.length; i++) {
        const err = Math.abs((v[i] as number) * info.scale - (f.data[i] as number))
        a.max = Math.max(a.max, err)
        a.sum += err
        a.range = Math.max(a.range, Math.abs(f.data[i] as number))
        if (v[i] === 32767 || v[i] === -32768) a.sat++
      }
      a.count += v.length
      acc.set(node.index, a)
    }
  }

  const count = (names: string[]) => names.reduce<Record<string, number>>((o, n) => Object.assign(o, { [n]: (o[n] ?? 0) + 1 }), {})
  const weights = { total: 0, int8: 0, int16: 0, int32: 0 }
  for (const t of model.tensors) {
    if (t.kind !== 'const') continue
    weights.total += sizeOf(t.shape)
    weights[t.dtype] += sizeOf(t.shape)
  }
  const io = (ids: number[]) =>
    ids.map((id) => ({
      name: (model.tensors[id] as TensorInfo).name,
      shape: (model.tensors[id] as TensorInfo).shape,
      scale: (model.tensors[id] as TensorInfo).scale,
    }))
  const report: QuantizationReport = {
    artifactHash: loaded.artifactHash,
    weightsRoot: loaded.weightsRoot(),
    source,
    onnxOps: count(decoded.nodes.map((n) => n.opType)),
    ops: count(model.nodes.map((n) => n.op)),
    weights,
    artifactBytes: artifact.length,
    calibrationSamples: options.calibration.length,
    inputs: io(model.inputs),
    outputs: io(model.outputs),
    layers: loaded.nodes.map((node) => {
      const a = acc.get(node.index) ?? { max: 0, sum: 0, count: 1, sat: 0, range: 0 }
      return {
        name: node.name,
        op: node.op,
        scale: (model.tensors[node.output] as TensorInfo).scale,
        range: a.range,
        maxAbsError: a.max,
        meanAbsError: a.sum / Math.max(1, a.count),
        saturated: a.sat / Math.max(1, a.count),
      }
    }),
  }
  return { artifact, model: loaded, report }
}
