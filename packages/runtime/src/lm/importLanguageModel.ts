import { basename } from 'node:path'
import { encodeArtifact } from '../artifact/artifact.js'
import { InvalidModelError } from '../errors.js'
import type { FloatGraph } from '../graph/lowerOnnx.js'
import { lowerOnnx } from '../graph/lowerOnnx.js'
import { quantizeGraph } from '../graph/quantizeGraph.js'
import { calibrate } from '../graph/runFloat.js'
import type { LoadedModel } from '../loadModel.js'
import { loadModel } from '../loadModel.js'
import { sha256, toHex } from '../merkle.js'
import type { TensorInfo } from '../model.js'
import type { OnnxModel } from '../onnx/decodeOnnx.js'
import { decodeOnnx } from '../onnx/decodeOnnx.js'
import type { FloatTensor } from '../tensor.js'
import type { LanguageModel } from './languageModel.js'
import { languageModelOf } from './languageModel.js'

export type ImportLanguageModelOptions = {
  /** Sequence length of the integer graph: the model's context window in this artifact. */
  context: number
  /** Calibration token sequences (real text or generations), each 1..context tokens long. */
  calibration: readonly (readonly number[])[]
  name?: string
  fileName?: string
  /** Width of the Dense weights: 8 (default; the wasm kernel) or 16 bits (~250× smaller weight error, JavaScript kernel). */
  weightBits?: 8 | 16
}

export type ImportLanguageModelResult = {
  artifact: Uint8Array
  lm: LanguageModel
  /** The token input's name and the logits output's name. */
  input: string
  output: string
}

/** A [1, T] int64 token tensor. */
export function tokenTensor(ids: readonly number[]): FloatTensor {
  return { dtype: 'int64', shape: [1, ids.length], data: Float64Array.from(ids) }
}

/**
 * Imports a decoder-only language model exported with a dynamic sequence axis (input int64
 * [1, T], output logits [1, T, V]). The shape arithmetic is folded for each calibration length and
 * once more for `context`: activation scales are calibrated by tensor name on the calibration
 * sequences (whatever their lengths), then the graph lowered at T = context is quantized with them.
 * Shorter prompts run padded to `context`: with a causal mask, logits at position t do not depend
 * on anything after t, in the integer semantics exactly (masked scores get exactly zero weight).
 *
 * @example
 * const lm = importLanguageModel(readFileSync('stories260K.onnx'), { context: 128, calibration: [[1, 403, 407]] })
 */
export function importLanguageModel(onnx: Uint8Array, options: ImportLanguageModelOptions): ImportLanguageModelResult {
  const decoded = decodeOnnx(onnx)
  const inputSpec = decoded.inputs.find((i) => !decoded.initializers.has(i.name))
  const outputSpec = decoded.outputs[0]
  if (!inputSpec || decoded.inputs.filter((i) => !decoded.initializers.has(i.name)).length !== 1 || !outputSpec) {
    throw new InvalidModelError('A language model has one token input and a logits output', {
      inputs: decoded.inputs.map((i) => i.name),
      outputs: decoded.outputs.map((o) => o.name),
    })
  }
  if (inputSpec.dtype !== 'int64' && inputSpec.dtype !== 'int32') {
    throw new InvalidModelError(`Input "${inputSpec.name}" is not an integer token tensor`, {
      input: inputSpec.name,
      found: inputSpec.dtype,
    })
  }
  const { context } = options
  if (!Number.isInteger(context) || context < 1) throw new InvalidModelError('context must be a positive integer', { context })
  if (options.calibration.length === 0) throw new InvalidModelError('Calibration needs at least one token sequence', { samples: 0 })
  const stats = calibrationStats(decoded, inputSpec.name, options.calibration, context)
  const graph = lowerOnnx(decoded, { inputShapes: { [inputSpec.name]: [1, context] } })
  const file = options.fileName ?? 'model.onnx'
  const source = { file: basename(file), sha256: toHex(sha256(onnx)).slice(2), opset: decoded.opset }
  const model = quantizeGraph(graph, stats, {
    name: options.name ?? basename(file).replace(/\.onnx$/, ''),
    source,
    weightBits: options.weightBits,
  })
  const artifact = encodeArtifact(model)
  const loaded = loadModel(artifact)
  const stepAxes =
    context > 1 ? findStepAxes(loaded, lowerOnnx(decoded, { inputShapes: { [inputSpec.name]: [1, context - 1] } })) : undefined
  return { artifact, lm: languageModelOf(loaded, stepAxes), input: inputSpec.name, output: outputSpec.name }
}

/**
 * The sequence axis of every activation: the axes whose size differs between the graph lowered at
 * C and at C − 1. A tensor with two (attention scores: queries × keys) takes the query axis from
 * its producer: the row axis of MatMulAct's left operand, else its first activation input's axis.
 */
function findStepAxes(m: LoadedModel, atC1: FloatGraph): number[] {
  const { tensors } = m.model
  const axes = tensors.map(() => -1)
  const varying = (id: number): number[] => {
    const t = tensors[id] as TensorInfo
    const other = atC1.shapes.get(t.name) ?? atC1.inputs.find((i) => i.name === t.name)?.shape
    if (!other || other.length !== t.shape.length) return []
    return t.shape.flatMap((d, i) => (d !== other[i] ? [i] : []))
  }
  for (const id of m.model.inputs) axes[id] = varying(id)[0] ?? -1
  for (const node of m.nodes) {
    const v = varying(node.output)
    if (v.length <= 1) {
      axes[node.output] = v[0] ?? -1
      continue
    }
    const rank = node.outShape.length
    const a = node.inputs[0] as number
    if (node.op === 'MatMulAct') axes[node.output] = axes[a] === (tensors[a] as TensorInfo).shape.length - 2 ? rank - 2 : -1
    else {
      const from = node.inputs.find((id) => (axes[id] as number) >= 0 && (tensors[id] as TensorInfo).shape.length === rank)
      axes[node.output] = from === undefined ? -1 : (axes[from] as number)
    }
  }
  return axes
}

/** max |x| per activation name over the calibration sequences, lowering once per distinct length. */
function calibrationStats(
  decoded: OnnxModel,
  input: string,
  sequences: readonly (readonly number[])[],
  context: number,
): Map<string, number> {
  const byLength = new Map<number, (readonly number[])[]>()
  for (const s of sequences) {
    if (s.length < 1 || s.length > context)
      throw new InvalidModelError('A calibration sequence is empty or longer than the context', { length: s.length, context })
    byLength.set(s.length, [...(byLength.get(s.length) ?? []), s])
  }
  const stats = new Map<string, number>()
  for (const [length, group] of byLength) {
    const graph = lowerOnnx(decoded, { inputShapes: { [input]: [1, length] } })
    const part = calibrate(
      graph,
      group.map((ids) => ({ [input]: tokenTensor(ids) })),
    )
    for (const [name, v] of part) stats.set(name, Math.max(stats.get(name) ?? 0, v))
  }
  return stats
}
