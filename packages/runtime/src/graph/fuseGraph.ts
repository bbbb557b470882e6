import type { FloatNode } from '../ops/types.js'
import type { FloatTensor } from '../tensor.js'
import { broadcastIndex, broadcastShapes, floatTensor, sameShape, sizeOf } from '../tensor.js'
import type { FloatGraph } from './lowerOnnx.js'

/**
 * Graph rewrites that keep the float function and improve the integer one:
 * - BatchNormalization after Conv is folded into the Conv's weights and bias;
 * - Add of a per-channel constant after Conv (or per-column after MatMul/Gemm) becomes its bias;
 * - nodes whose outputs are never used are removed.
 */
export function fuseGraph(graph: FloatGraph): FloatGraph {
  let nodes = graph.nodes
  let changed = true
  while (changed) {
    changed = false
    const uses = useCounts(nodes, graph.outputs)
    const producer = new Map(nodes.map((n) => [n.output, n]))
    const next: FloatNode[] = []
    const replaced = new Map<string, FloatNode>()
    for (const node of nodes) {
      const src = producer.get(node.inputs[0] as string)
      const fused = src && uses.get(src.output) === 1 && !graph.outputs.includes(src.output) ? fuse(src, node, graph) : undefined
      if (fused && src) {
        replaced.set(src.output, fused)
        changed = true
        continue
      }
      next.push(node)
    }
    nodes = next.map((n) => replaced.get(n.output) ?? n)
  }
  // Dead-node elimination, walking back from the outputs.
  const live = new Set(graph.outputs)
  const kept: FloatNode[] = []
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i] as FloatNode
    if (!live.has(n.output)) continue
    kept.unshift(n)
    for (const x of n.inputs) live.add(x)
  }
  return { ...graph, nodes: kept }
}

function useCounts(nodes: FloatNode[], outputs: string[]): Map<string, number> {
  const uses = new Map<string, number>()
  for (const n of nodes) for (const x of n.inputs) uses.set(x, (uses.get(x) ?? 0) + 1)
  for (const o of outputs) uses.set(o, (uses.get(o) ?? 0) + 1)
  return uses
}

/** Returns the producer rewritten to absorb `consumer` (keeping the consumer's output name). */
function fuse(producer: FloatNode, consumer: FloatNode, graph: FloatGraph): FloatNode | undefined {
  const { constants } = graph
  const channelAxis = producer.op === 'Conv' ? 1 : -1
  if (producer.op === 'Conv' && consumer.op === 'BatchNormalization') {
    const [, scale, bias, mean, variance] = consumer.inputs.map((n) => constants.get(n)) as FloatTensor[]
    const eps = consumer.attrs.epsilon as number
    const w = constants.get(producer.inputs[1] as string) as FloatTensor
    const b = producer.inputs[2] ? (constants.get(producer.inputs[2]) as FloatTensor) : undefined
    const m = w.shape[0] as number
    const per = sizeOf(w.shape) / m
    const nw = floatTensor([...w.shape])
    const nb = floatTensor([m])
    for (let c = 0; c < m; c++) {
      const a = (scale?.data[c] as number) / Math.sqrt((variance?.data[c] as number) + eps)
      for (let i = c * per; i < (c + 1) * per; i++) nw.data[i] = a * (w.data[i] as number)
      nb.data[c] = a * (((b?.data[c] as number | undefined) ?? 0) - (mean?.data[c] as number)) + (bias?.data[c] as number)
    }
    return withParams(producer, consumer.output, graph, nw, nb)
  }
  const denseLike = producer.op === 'Conv' || producer.op === 'Gemm' || (producer.op === 'MatMul' && producer.attrs.constB === 1)
  if (denseLike && consumer.op === 'Add' && consumer.inputs.length === 2) {
    const [a, c] = consumer.inputs as [string, string]
    const addend = constants.get(a === producer.output ? c : a)
    if (!addend) return undefined
    const outShape = graph.shapes.get(producer.output) as number[]
    // Only when the addend does not broadcast the output to a larger shape.
    if (!sameShape(broadcastShapes(outShape, addend.shape) ?? [], outShape)) return undefined
    const perChannel = channelVector(addend, outShape, channelAxis)
    if (!perChannel) return undefined
    const bias = currentBias(producer, graph, perChannel.length)
    for (let i = 0; i < perChannel.length; i++) perChannel[i] = (perChannel[i] as number) + (bias[i] as number)
    return withParams(producer, consumer.output, graph, undefined, floatTensor([perChannel.length], perChannel))
  }
  return undefined
}

/** The addend as a vector over the channel axis, if it is constant along every other axis. */
function channelVector(addend: FloatTensor, outShape: number[], axis: number): Float64Array | undefined {
  if (addend.shape.length > outShape.length) return undefined
  const ax = axis < 0 ? outShape.length + axis : axis
  const channels = outShape[ax] as number
  const n = sizeOf(outShape)
  const vec = new Float64Array(channels)
  const inner = sizeOf(outShape.slice(ax + 1))
  for (let i = 0; i < n; i++) {
    const c = Math.floor(i / inner) % channels
    const v = addend.data[broadcastIndex(outShape, addend.shape, i)] as number
    if (i < channels * inner && i % inner === 0) vec[c] = v
    else if (vec[c] !== v) return undefined
  }
  return vec
}

/** The producer's bias as a per-channel vector (Gemm's beta·C folded in). */
function currentBias(node: FloatNode, graph: FloatGraph, channels: number): Float64Array {
  const name = node.inputs[2]
  const out = new Float64Array(channels)
  if (!name) return out
  const t = graph.constants.get(name) as FloatTensor
  const beta = node.op === 'Gemm' ? (node.attrs.beta as number) : 1
  const rows = node.op === 'Gemm' ? [1, channels] : [channels]
  for (let i = 0; i < channels; i++) out[i] = beta * (t.data[broadcastIndex(rows, t.shape, i)] as number)
  return out
}

/** A copy of `node` writing `output`, with new weights and/or bias registered as constants. */
function withParams(node: FloatNode, output: string, graph: FloatGraph, weights: FloatTensor | undefined, bias: FloatTensor): FloatNode {
  const id = `${output}::fused${graph.constants.size}`
  const inputs = [...node.inputs]
  if (weights) {
    graph.constants.set(`${id}.weight`, weights)
    inputs[1] = `${id}.weight`
  }
  graph.constants.set(`${id}.bias`, bias)
  inputs[2] = `${id}.bias`
  graph.shapes.set(output, graph.shapes.get(node.output) as number[])
  const attrs = node.op === 'Gemm' ? { ...node.attrs, beta: 1 } : node.attrs
  return { ...node, inputs, output, attrs }
}
