import { onnxOps } from '../ops/registry.js'
import type { FloatTensor } from '../tensor.js'
import type { FloatGraph } from './lowerOnnx.js'

/**
 * Runs the float graph in float64 (the calibration reference). `visit` sees every activation,
 * inputs included.
 */
export function runFloat(
  graph: FloatGraph,
  inputs: Record<string, FloatTensor>,
  visit?: (name: string, t: FloatTensor) => void,
): Map<string, FloatTensor> {
  const values = new Map<string, FloatTensor>()
  for (const input of graph.inputs) {
    const t = inputs[input.name] as FloatTensor
    values.set(input.name, t)
    visit?.(input.name, t)
  }
  for (const node of graph.nodes) {
    const args = node.inputs.map((n) => (values.get(n) ?? graph.constants.get(n)) as FloatTensor)
    const out = onnxOps[node.op]?.evalFloat(node, args) as FloatTensor
    values.set(node.output, out)
    visit?.(node.output, out)
  }
  return new Map(graph.outputs.map((o) => [o, values.get(o) as FloatTensor]))
}

/** max |x| of every activation over a set of calibration inputs. */
export function calibrate(graph: FloatGraph, samples: Record<string, FloatTensor>[]): Map<string, number> {
  const stats = new Map<string, number>()
  for (const sample of samples) {
    runFloat(graph, sample, (name, t) => {
      let m = stats.get(name) ?? 0
      for (let i = 0; i < t.data.length; i++) {
        const a = Math.abs(t.data[i] as number)
        // ±∞ (a −∞ attention mask) has no scale: it saturates to the int16 limit.
        if (a > m && a !== Number.POSITIVE_INFINITY) m = a
      }
      stats.set(name, m)
    })
  }
  return stats
}
