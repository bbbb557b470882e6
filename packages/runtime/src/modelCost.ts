import type { Model } from './model.js'

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1)

/**
 * The work of one run of `model`, counted from its integer graph alone: for every op, its output
 * values times the terms each one sums — multiply-accumulates for Conv (weights per output channel:
 * input channels per group × kernel), Dense (`k`) and MatMulAct (the shared dimension) — and one per
 * output value for every other op. A pure function of the artifact, so anyone holding it (its hash
 * is registered on-chain) gets the same number: the dashboard weights receipts and re-executions of
 * different models by it.
 *
 * @example
 * modelCost(decodeArtifact(bytes)) // 798_048n for mnist-8: 786,560 multiply-accumulates and 11,488 other values
 */
export function modelCost(model: Model): bigint {
  let cost = 0n
  for (const node of model.nodes) {
    const out = sizeOf(model.tensors[node.output]!.shape)
    let terms = 1
    if (node.op === 'Conv') terms = sizeOf(model.tensors[node.inputs[1]!]!.shape) / (node.attrs.m as number)
    else if (node.op === 'Dense') terms = node.attrs.k as number
    else if (node.op === 'MatMulAct') terms = model.tensors[node.inputs[0]!]!.shape.at(-1)!
    cost += BigInt(out) * BigInt(terms)
  }
  return cost
}
