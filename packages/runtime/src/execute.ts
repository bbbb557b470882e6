import type { TensorInput } from './input.js'
import { checkQuantizedInputs, quantizeInputs } from './input.js'
import type { Hex, LoadedModel } from './loadModel.js'
import { merkleRoot, tensorRoot, toHex } from './merkle.js'
import type { TensorInfo } from './model.js'
import { intOps } from './ops/registry.js'
import type { IntOp } from './ops/types.js'
import type { IntArray } from './tensor.js'
import { tensorBytes } from './tensorBytes.js'

/**
 * The execution trace: every activation of one run. Leaf i of the trace tree is the tensor root
 * of `leaves[i]` — the model inputs in order, then each node's output in node order.
 */
export type Trace = {
  tensors: Map<number, Int16Array>
  leaves: number[]
  roots: Uint8Array[]
  root: Hex
}

export type RunOptions = {
  trace?: boolean
  /**
   * Called with each node's output right after it is computed; may change it in place. Fault
   * injection for adversarial tests and demos (a node that computes one op wrong), never used on
   * the verifiable path.
   */
  tamper?: (node: number, output: Int16Array) => void
}

export type QuantizedRun = { outputs: Int16Array[]; trace?: Trace }

/**
 * Runs the integer graph on quantized inputs. Without `trace`, intermediate tensors are dropped
 * after their last use and nothing is hashed.
 */
export function runQuantized(m: LoadedModel, inputs: readonly Int16Array[], options: RunOptions = {}): QuantizedRun {
  checkQuantizedInputs(m, inputs)
  const { model } = m
  const values = runGraph(m, inputs, !options.trace, options.tamper)
  const outputs = model.outputs.map((id) => values.get(id) as Int16Array)
  if (!options.trace) return { outputs }
  return { outputs, trace: commitTrace(m, values) }
}

/** Commits to a full set of activations (inputs and every node output): the trace of §6. */
export function commitTrace(m: LoadedModel, tensors: Map<number, Int16Array>): Trace {
  const leaves = [...m.model.inputs, ...m.nodes.map((n) => n.output)]
  const roots = leaves.map((id) => tensorRoot(tensorBytes(tensors.get(id) as Int16Array)))
  return { tensors, leaves, roots, root: toHex(merkleRoot(roots)) }
}

/** Runs every node; returns the activations (all of them unless `dropDead`). */
export function runGraph(
  m: LoadedModel,
  inputs: readonly Int16Array[],
  dropDead: boolean,
  tamper?: RunOptions['tamper'],
): Map<number, Int16Array> {
  const { model, nodes } = m
  const values = new Map<number, Int16Array>()
  for (const [i, id] of model.inputs.entries()) values.set(id, inputs[i] as Int16Array)
  const lastUse = dropDead ? lastUses(m) : undefined
  for (const node of nodes) {
    const args: IntArray[] = node.inputs.map((id) => (values.get(id) ?? model.constants.get(id)) as IntArray)
    const output = (intOps[node.op] as IntOp).run(node, args) as Int16Array
    tamper?.(node.index, output)
    values.set(node.output, output)
    if (lastUse) for (const id of node.inputs) if (lastUse.get(id) === node.index) values.delete(id)
  }
  return values
}

const lastUseCache = new WeakMap<LoadedModel, Map<number, number>>()

/** For each tensor, the index of the last node that reads it (derived once per model). */
function lastUses(m: LoadedModel): Map<number, number> {
  let last = lastUseCache.get(m)
  if (last) return last
  last = new Map<number, number>()
  for (const n of m.nodes) for (const id of n.inputs) last.set(id, n.index)
  for (const id of m.model.outputs) last.set(id, Number.POSITIVE_INFINITY)
  lastUseCache.set(m, last)
  return last
}

/** One output of a run: raw int16 values and their real (dequantized) values. */
export type RunOutput = { name: string; shape: number[]; scale: number; raw: Int16Array; values: Float64Array }

export type RunResult = {
  outputs: RunOutput[]
  /** Merkle root over the input tensor roots (a single input's tensor root). */
  inputHash: Hex
  /** Merkle root over the output tensor roots (a single output's tensor root). */
  outputHash: Hex
  trace?: Trace
}

/** Commitment to a list of int16 tensors: the Merkle root of their tensor roots. */
export function tensorsHash(tensors: readonly Int16Array[]): Hex {
  return toHex(merkleRoot(tensors.map((t) => tensorRoot(tensorBytes(t)))))
}

/**
 * Quantizes real-valued inputs and runs the model.
 *
 * @example
 * const model = loadModel(readFileSync('mnist.vrty'))
 * const { outputs, outputHash } = run(model, { Input3: { shape: [1, 1, 28, 28], data: pixels } })
 */
export function run(m: LoadedModel, inputs: Record<string, TensorInput>, options: RunOptions = {}): RunResult {
  const q = quantizeInputs(m, inputs)
  const result = runQuantized(m, q, options)
  const outputs = m.model.outputs.map((id, i): RunOutput => {
    const info = m.model.tensors[id] as TensorInfo
    const raw = result.outputs[i] as Int16Array
    return { name: info.name, shape: info.shape, scale: info.scale, raw, values: Float64Array.from(raw, (v) => v * info.scale) }
  })
  return {
    outputs,
    inputHash: tensorsHash(q),
    outputHash: tensorsHash(result.outputs),
    ...(result.trace ? { trace: result.trace } : {}),
  }
}
