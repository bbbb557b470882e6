import { InvalidModelError, QuantizationError } from '../errors.js'
import { INT16_MAX, sat16 } from '../fixedPoint.js'
import type { Model, ModelNode, ModelSource, TensorInfo } from '../model.js'
import { onnxOps } from '../ops/registry.js'
import type { QuantizeContext } from '../ops/types.js'
import type { FloatTensor, IntArray, IntDType } from '../tensor.js'
import { allocInt } from '../tensor.js'
import type { FloatGraph } from './lowerOnnx.js'

/**
 * Headroom above the calibrated range: the calibrated max |x| maps to 32767 / HEADROOM, so inputs
 * up to twice as large as any calibration sample's still do not saturate (at the cost of one of
 * the activation's 16 bits).
 */
export const HEADROOM = 2

const INT_LIMITS: Record<IntDType, number> = { int8: 127, int16: 32767, int32: 2 ** 31 - 1 }

/** Scale of a symmetric int16 activation whose calibrated max |x| is `maxAbs`. */
export function activationScale(maxAbs: number | undefined): number {
  return maxAbs && maxAbs > 0 && Number.isFinite(maxAbs) ? (HEADROOM * maxAbs) / INT16_MAX : 1
}

/**
 * Turns a calibrated float graph into an integer model: each float node's `quantize` emits one
 * integer node and its constant parameter tensors.
 */
export function quantizeGraph(
  graph: FloatGraph,
  stats: Map<string, number>,
  meta: { name: string; source: ModelSource; weightBits?: 8 | 16 | undefined },
): Model {
  const tensors: TensorInfo[] = []
  const constants = new Map<number, IntArray>()
  const ids = new Map<string, number>()
  const push = (t: TensorInfo) => tensors.push(t) - 1

  for (const input of graph.inputs) {
    ids.set(
      input.name,
      push({
        name: input.name,
        kind: 'input',
        dtype: 'int16',
        shape: input.shape,
        // Integer inputs (token ids) are taken as they are: scale 1.
        scale: input.dtype === 'int64' || input.dtype === 'int32' ? 1 : activationScale(stats.get(input.name)),
      }),
    )
  }

  const addConst = (label: string, dtype: IntDType, shape: number[], values: ArrayLike<number>): number => {
    const data = allocInt(dtype, values.length)
    const limit = INT_LIMITS[dtype]
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number
      // Typed arrays wrap silently; a parameter that does not fit its type is an import error.
      if (!Number.isInteger(v) || v < -limit - 1 || v > limit) {
        throw new QuantizationError(`Parameter "${label}" has a value that is not an ${dtype}`, { tensor: label, index: i, value: v })
      }
      data[i] = v
    }
    const id = push({ name: label, kind: 'const', dtype, shape, scale: 0 })
    constants.set(id, data)
    return id
  }

  const ctx: QuantizeContext = {
    weightBits: meta.weightBits ?? 8,
    calibratedScale: (name) => activationScale(stats.get(name)),
    scaleOf(name) {
      const id = ids.get(name)
      if (id === undefined) throw new InvalidModelError(`Activation "${name}" is not quantized yet`, { tensor: name })
      return (tensors[id] as TensorInfo).scale
    },
    activation(name) {
      const id = ids.get(name)
      if (id === undefined) throw new InvalidModelError(`Activation "${name}" is not quantized yet`, { tensor: name })
      return id
    },
    constant: (name) => graph.constants.get(name),
    addConst,
    operand(node, name) {
      const c = graph.constants.get(name)
      return c ? ctx.constActivation(`${node.name}.${name}`, c) : { id: ctx.activation(name), scale: ctx.scaleOf(name) }
    },
    constActivation(label: string, t: FloatTensor) {
      let max = 0
      for (const v of t.data) max = Math.max(max, Math.abs(v))
      // A constant's range is known exactly: no headroom.
      const scale = max > 0 ? max / INT16_MAX : 1
      const id = addConst(
        label,
        'int16',
        t.shape,
        Array.from(t.data, (v) => sat16(Math.round(v / scale))),
      )
      ;(tensors[id] as TensorInfo).scale = scale
      return { id, scale }
    },
    shape(name) {
      return (graph.shapes.get(name) ?? graph.constants.get(name)?.shape) as number[]
    },
  }

  const nodes: ModelNode[] = []
  for (const node of graph.nodes) {
    const q = (onnxOps[node.op] as NonNullable<(typeof onnxOps)[string]>).quantize(node, ctx)
    const output = push({
      name: node.output,
      kind: 'activation',
      dtype: 'int16',
      shape: graph.shapes.get(node.output) as number[],
      scale: q.outScale,
    })
    ids.set(node.output, output)
    nodes.push({ name: node.name, op: q.op, inputs: q.inputs, output, attrs: q.attrs })
  }
  return {
    name: meta.name,
    source: meta.source,
    inputs: graph.inputs.map((i) => ids.get(i.name) as number),
    outputs: graph.outputs.map((o) => ids.get(o) as number),
    tensors,
    nodes,
    constants,
  }
}
