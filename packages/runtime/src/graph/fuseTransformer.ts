import type { FloatNode } from '../ops/types.js'
import { floatTensor } from '../tensor.js'
import type { FloatGraph } from './lowerOnnx.js'

/**
 * Rewrites the element-wise spellings of transformer blocks that PyTorch exports into single ops
 * with one exact integer definition each (docs/semantics.md), so that precision is not lost at
 * every intermediate requantization:
 * - RMSNorm   x · (1 / √(mean(x²) + ε)) [· γ]          → RMSNormalization(x, γ)
 * - GELU      (x · (erf(x / √2) + 1)) · 0.5             → Gelu(x)
 * - SiLU      x · sigmoid(x)                            → Silu(x)
 * - a scalar Mul or Div after MatMul of two activations → MatMul with `alpha`
 * - Softmax after Where(mask, −∞, x)                    → Softmax with `masked` = 1
 * Intermediate nodes left without uses are removed later by fuseGraph.
 */
export function fuseTransformer(graph: FloatGraph): FloatGraph {
  const { constants } = graph
  const producer = new Map(graph.nodes.map((n) => [n.output, n]))
  const uses = new Map<string, number>()
  for (const n of graph.nodes) for (const x of n.inputs) uses.set(x, (uses.get(x) ?? 0) + 1)
  for (const o of graph.outputs) uses.set(o, (uses.get(o) ?? 0) + 1)
  const consumers = new Map<string, FloatNode[]>()
  for (const n of graph.nodes) for (const x of n.inputs) consumers.set(x, [...(consumers.get(x) ?? []), n])

  const scalar = (name: string | undefined): number | undefined => {
    const c = name === undefined ? undefined : constants.get(name)
    if (!c || c.data.length === 0) return undefined
    const v = c.data[0] as number
    return c.data.every((x) => x === v) ? v : undefined
  }
  const prod = (name: string | undefined, op: string): FloatNode | undefined => {
    const n = name === undefined ? undefined : producer.get(name)
    return n?.op === op ? n : undefined
  }
  /** For a binary node, the operand that is not `name` (or undefined when neither is). */
  const other = (n: FloatNode, name: string): string | undefined =>
    n.inputs[0] === name ? n.inputs[1] : n.inputs[1] === name ? n.inputs[0] : undefined

  const replaced = new Map<string, FloatNode>()
  const dropped = new Set<string>()

  for (const node of graph.nodes) {
    if (replaced.has(node.output)) continue
    // RMSNorm: Mul(x, Div(1, Sqrt(Add(ReduceMean(Pow(x, 2)), ε)))).
    if (node.op === 'Mul' && node.inputs.length === 2) {
      for (const r of node.inputs) {
        const div = prod(r, 'Div')
        if (!div || scalar(div.inputs[0]) !== 1) continue
        const sq = prod(div.inputs[1], 'Sqrt')
        const add = prod(sq?.inputs[0], 'Add')
        if (!add) continue
        const rm = prod(add.inputs[0], 'ReduceMean') ?? prod(add.inputs[1], 'ReduceMean')
        const eps = rm && scalar(other(add, rm.output))
        const pw = prod(rm?.inputs[0], 'Pow')
        const x = other(node, r)
        if (!rm || eps === undefined || !pw || pw.attrs.exponent !== 2 || pw.inputs[0] !== x || x === undefined) continue
        const shape = graph.shapes.get(x) as number[]
        const axes = rm.attrs.axes as number[]
        if (axes.length !== 1 || axes[0] !== shape.length - 1 || rm.attrs.keepdims !== 1) continue
        const d = shape.at(-1) as number
        // A following Mul by a [D] constant is the norm's weight.
        const next = consumers.get(node.output)
        const wMul = next?.length === 1 && uses.get(node.output) === 1 && next[0]?.op === 'Mul' ? next[0] : undefined
        const wName = wMul ? other(wMul, node.output) : undefined
        const w = wName ? constants.get(wName) : undefined
        const weighted = wMul && w && (w.data.length === d || w.data.length === 1) && !graph.outputs.includes(node.output)
        let gamma: string
        if (weighted) gamma = wName as string
        else {
          gamma = `${node.output}::gamma`
          constants.set(gamma, floatTensor([d], new Float64Array(d).fill(1)))
        }
        const out = weighted ? (wMul as FloatNode).output : node.output
        const fused: FloatNode = {
          name: node.name.replace(/\/Mul$/, ''),
          op: 'RMSNormalization',
          inputs: [x, gamma],
          output: out,
          attrs: { epsilon: eps },
        }
        if (weighted) {
          dropped.add(node.output)
          replaced.set(out, fused)
        } else replaced.set(node.output, fused)
        break
      }
      if (dropped.has(node.output) || replaced.has(node.output)) continue
    }
    // GELU: Mul(Mul(x, Add(Erf(Div(x, √2)), 1)), 0.5).
    if (node.op === 'Mul' && scalar(node.inputs[1]) === 0.5) {
      const m = prod(node.inputs[0], 'Mul')
      const add = m && (prod(m.inputs[0], 'Add') ?? prod(m.inputs[1], 'Add'))
      const erf = add && (prod(add.inputs[0], 'Erf') ?? prod(add.inputs[1], 'Erf'))
      const scaled = erf && (prod(erf.inputs[0], 'Div') ?? prod(erf.inputs[0], 'Mul'))
      if (m && add && erf && scaled && scalar(other(add, erf.output)) === 1) {
        const x = scaled.inputs[0] as string
        const c = scalar(scaled.inputs[1])
        const ok = c !== undefined && Math.abs((scaled.op === 'Div' ? c : 1 / c) - Math.SQRT2) < 1e-6
        if (ok && other(m, add.output) === x && uses.get(m.output) === 1) {
          replaced.set(node.output, {
            name: node.name.replace(/\/Mul_1$/, '/Gelu'),
            op: 'Gelu',
            inputs: [x],
            output: node.output,
            attrs: {},
          })
          continue
        }
      }
    }
    // SiLU: Mul(x, Sigmoid(x)).
    if (node.op === 'Mul' && node.inputs.length === 2) {
      const sig = prod(node.inputs[0], 'Sigmoid') ?? prod(node.inputs[1], 'Sigmoid')
      if (sig && other(node, sig.output) === sig.inputs[0]) {
        replaced.set(node.output, { name: node.name, op: 'Silu', inputs: [sig.inputs[0] as string], output: node.output, attrs: {} })
        continue
      }
    }
    // Scalar scaling of a MatMul of two activations (attention scores).
    if ((node.op === 'Mul' || node.op === 'Div') && node.inputs.length === 2) {
      const mm = prod(node.inputs[0], 'MatMul')
      const c = scalar(node.inputs[1])
      if (mm && mm.attrs.constB === 0 && c !== undefined && c !== 0 && uses.get(mm.output) === 1 && !graph.outputs.includes(mm.output)) {
        const alpha = ((mm.attrs.alpha as number | undefined) ?? 1) * (node.op === 'Mul' ? c : 1 / c)
        dropped.add(mm.output)
        replaced.set(node.output, { ...mm, output: node.output, attrs: { ...mm.attrs, alpha } })
        continue
      }
    }
    // Softmax over a −∞-masked input.
    if (node.op === 'Softmax') {
      const where = prod(node.inputs[0], 'Where')
      const fill = where && (scalar(where.inputs[1]) ?? scalar(where.inputs[2]))
      if (fill === Number.NEGATIVE_INFINITY) replaced.set(node.output, { ...node, attrs: { ...node.attrs, masked: 1 } })
    }
  }
  const nodes: FloatNode[] = []
  for (const n of graph.nodes) {
    if (dropped.has(n.output)) continue
    nodes.push(replaced.get(n.output) ?? n)
  }
  for (const n of nodes) if (!graph.shapes.has(n.output)) graph.shapes.set(n.output, graph.shapes.get(n.inputs[0] as string) as number[])
  return { ...graph, nodes }
}
