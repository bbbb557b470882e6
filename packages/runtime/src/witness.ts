import { WitnessError } from './errors.js'
import type { Trace } from './execute.js'
import type { Hex, LoadedModel } from './loadModel.js'
import { CHUNK_BYTES, chunkLeaves, equalBytes, fromHex, leafHash, merkleLevels, merkleProof, rootFromProof, toHex } from './merkle.js'
import type { TensorInfo } from './model.js'
import { intOps } from './ops/registry.js'
import type { Attrs, IntNode, IntOp } from './ops/types.js'
import type { IntArray, IntDType } from './tensor.js'
import { bytesPerElement } from './tensor.js'
import { elementAt, tensorBytes } from './tensorBytes.js'

/** One chunk of a tensor with its Merkle path to the tensor root. */
export type ChunkOpening = { chunk: number; data: Hex; siblings: Hex[] }

/**
 * Opened chunks of one tensor, and the path of the tensor root to the trace root (activations)
 * or to the weights root (constants).
 */
export type TensorOpening = {
  tensor: number
  kind: 'activation' | 'const'
  dtype: IntDType
  /** Position of this tensor's root among the leaves of the trace or weights tree. */
  leaf: number
  root: Hex
  rootSiblings: Hex[]
  chunks: ChunkOpening[]
}

/** Everything needed to recompute one output value of one op, alone. */
export type Witness = {
  modelId: Hex
  traceRoot: Hex
  weightsRoot: Hex
  /** Index of the op in the model's node list. */
  op: number
  node: { op: string; attrs: Attrs; inShapes: number[][]; outShape: number[] }
  /** Flat index of the value in the op's output tensor, and the value. */
  index: number
  value: number
  output: TensorOpening
  inputs: TensorOpening[]
}

/**
 * Opens output value `index` of op `op` from a traced run: the value with its proof, and every
 * input value and parameter the op reads to compute it, chunk by chunk, with their proofs.
 *
 * @example
 * const { trace } = run(model, inputs, { trace: true })
 * const w = openValue(model, trace!, 3, 17)
 * verifyWitness(w, { model, traceRoot: trace!.root }) // { ok: true, value: … }
 */
export function openValue(m: LoadedModel, trace: Trace, op: number, index: number): Witness {
  const node = m.nodes[op]
  if (!node) throw new WitnessError('No such op', { expected: `0..${m.nodes.length - 1}`, found: op })
  const out = trace.tensors.get(node.output) as Int16Array
  if (!Number.isInteger(index) || index < 0 || index >= out.length) {
    throw new WitnessError('No such output index', { expected: `0..${out.length - 1}`, found: index })
  }
  const touched = node.inputs.map(() => new Set<number>())
  const data = (id: number) => (trace.tensors.get(id) ?? m.model.constants.get(id)) as IntArray
  const value = (intOps[node.op] as IntOp).evalOne(node, index, (p, i) => {
    ;(touched[p] as Set<number>).add(i)
    return data(node.inputs[p] as number)[i] as number
  })
  const open = (id: number, indices: Iterable<number>): TensorOpening => {
    const info = m.model.tensors[id] as TensorInfo
    const isConst = info.kind === 'const'
    const bytes = tensorBytes(data(id))
    const levels = merkleLevels(chunkLeaves(bytes))
    const per = CHUNK_BYTES / bytesPerElement[info.dtype]
    const chunks = [...new Set([...indices].map((i) => Math.floor(i / per)))].sort((a, b) => a - b)
    const leaf = isConst ? m.constIds.indexOf(id) : trace.leaves.indexOf(id)
    const rootLevels = merkleLevels(isConst ? m.constRoots() : trace.roots)
    return {
      tensor: id,
      kind: isConst ? 'const' : 'activation',
      dtype: info.dtype,
      leaf,
      root: toHex((levels[levels.length - 1] as Uint8Array[])[0] as Uint8Array),
      rootSiblings: merkleProof(rootLevels, leaf).map(toHex),
      chunks: chunks.map((c) => ({
        chunk: c,
        data: toHex(bytes.subarray(c * CHUNK_BYTES, (c + 1) * CHUNK_BYTES)),
        siblings: merkleProof(levels, c).map(toHex),
      })),
    }
  }
  return {
    modelId: m.modelId,
    traceRoot: trace.root,
    weightsRoot: m.weightsRoot(),
    op,
    node: { op: node.op, attrs: node.attrs, inShapes: node.inShapes, outShape: node.outShape },
    index,
    value,
    output: open(node.output, [index]),
    inputs: node.inputs.map((id, p) => open(id, touched[p] as Set<number>)),
  }
}

/** Reads element `index` of an opened tensor, or throws if its chunk was not opened. */
function openedValue(t: TensorOpening, index: number): number {
  const per = CHUNK_BYTES / bytesPerElement[t.dtype]
  const chunk = t.chunks.find((c) => c.chunk === Math.floor(index / per))
  if (!chunk) throw new WitnessError('The witness does not open a value the op reads', { tensor: t.tensor, index })
  return elementAt(t.dtype, fromHex(chunk.data), (index % per) * bytesPerElement[t.dtype])
}

/**
 * Recomputes the witness's value from its opened inputs alone, under the integer semantics.
 * Pure: no model, no trace. Throws WITNESS_INVALID when a needed value is not opened.
 */
export function recomputeValue(witness: Witness): number {
  const op = intOps[witness.node.op]
  if (!op) throw new WitnessError('Unknown op', { op: witness.node.op })
  const node: IntNode = {
    index: witness.op,
    name: '',
    op: witness.node.op,
    inputs: witness.inputs.map((t) => t.tensor),
    output: witness.output.tensor,
    attrs: witness.node.attrs,
    inShapes: witness.node.inShapes,
    outShape: witness.node.outShape,
  }
  return op.evalOne(node, witness.index, (p, i) => {
    const t = witness.inputs[p]
    if (!t) throw new WitnessError('The witness lacks an input the op reads', { input: p })
    return openedValue(t, i)
  })
}

export type WitnessCheck = { ok: true; value: number } | { ok: false; reason: string }

/** Depth of a Merkle tree over n leaves (padded to a power of two). */
function depth(n: number): number {
  return n <= 1 ? 0 : Math.ceil(Math.log2(n))
}

/**
 * Verifies a witness against the model and the roots it claims to open: the op descriptor, each
 * tensor's position and proof depth, every chunk proof and root proof, and that recomputing the
 * value from the opened inputs alone gives the committed value.
 */
export function verifyWitness(witness: Witness, expected: { model: LoadedModel; traceRoot: Hex }): WitnessCheck {
  const { model } = expected
  try {
    if (witness.traceRoot !== expected.traceRoot) return { ok: false, reason: 'trace root differs' }
    if (witness.weightsRoot !== model.weightsRoot()) return { ok: false, reason: 'weights root differs' }
    if (witness.modelId !== model.modelId) return { ok: false, reason: 'model id differs' }
    const n = model.nodes[witness.op]
    if (
      !n ||
      n.op !== witness.node.op ||
      JSON.stringify([n.attrs, n.inShapes, n.outShape, n.inputs, n.output]) !==
        JSON.stringify([
          witness.node.attrs,
          witness.node.inShapes,
          witness.node.outShape,
          witness.inputs.map((t) => t.tensor),
          witness.output.tensor,
        ])
    ) {
      return { ok: false, reason: 'op descriptor differs from the model' }
    }
    const traceLeaves = [...model.model.inputs, ...model.nodes.map((x) => x.output)]
    for (const t of [witness.output, ...witness.inputs]) {
      const info = model.model.tensors[t.tensor] as TensorInfo
      const isConst = info.kind === 'const'
      const leaves = isConst ? model.constIds : traceLeaves
      if (t.kind !== (isConst ? 'const' : 'activation') || t.dtype !== info.dtype || t.leaf !== leaves.indexOf(t.tensor)) {
        return { ok: false, reason: `tensor ${t.tensor}: kind, type or position differs from the model` }
      }
      if (t.rootSiblings.length !== depth(leaves.length)) return { ok: false, reason: `tensor ${t.tensor}: root proof has the wrong depth` }
      const top = fromHex(isConst ? witness.weightsRoot : witness.traceRoot)
      if (!equalBytes(rootFromProof(fromHex(t.root), t.leaf, t.rootSiblings.map(fromHex)), top)) {
        return { ok: false, reason: `tensor ${t.tensor}: root proof fails` }
      }
      const chunks = Math.ceil((info.shape.reduce((a, b) => a * b, 1) * bytesPerElement[info.dtype]) / CHUNK_BYTES)
      for (const c of t.chunks) {
        const data = fromHex(c.data)
        if (data.length > CHUNK_BYTES || c.chunk >= chunks)
          return { ok: false, reason: `tensor ${t.tensor}: chunk ${c.chunk} out of range` }
        if (c.siblings.length !== depth(chunks)) return { ok: false, reason: `tensor ${t.tensor}: chunk proof has the wrong depth` }
        if (!equalBytes(rootFromProof(leafHash(data), c.chunk, c.siblings.map(fromHex)), fromHex(t.root))) {
          return { ok: false, reason: `tensor ${t.tensor} chunk ${c.chunk}: proof fails` }
        }
      }
    }
    if (openedValue(witness.output, witness.index) !== witness.value) return { ok: false, reason: 'claimed value is not the committed one' }
    const value = recomputeValue(witness)
    if (value !== witness.value) return { ok: false, reason: `recomputed ${value}, committed ${witness.value}` }
    return { ok: true, value }
  } catch (e) {
    return { ok: false, reason: (e as Error).message }
  }
}
