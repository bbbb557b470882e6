import { canonicalJson } from './canonicalJson.js'
import { WitnessError } from './errors.js'
import type { Trace } from './execute.js'
import type { Hex, LoadedModel } from './loadModel.js'
import { CHUNK_BYTES, chunkLeaves, equalBytes, fromHex, leafHash, merkleLevels, merkleProof, rootFromProof, toHex } from './merkle.js'
import type { TensorInfo } from './model.js'
import { intOps } from './ops/registry.js'
import type { Attrs, IntNode, IntOp } from './ops/types.js'
import type { IntArray, IntDType } from './tensor.js'
import { bytesPerElement, sizeOf } from './tensor.js'
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
  /** sha256 of the model's artifact. */
  artifactHash: Hex
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
 * Opens output value `index` of op `op` from a trace: the committed value with its proof, and every
 * input value and parameter the op reads to compute it, chunk by chunk, with their proofs. The
 * trace need not be honest: opening a wrong value gives a witness that verifies as a `mismatch`.
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
  // Record exactly which input values the definition reads for this output.
  ;(intOps[node.op] as IntOp).evalOne(node, index, (p, i) => {
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
        data: toHex(paddedChunk(bytes, c)),
        siblings: merkleProof(levels, c).map(toHex),
      })),
    }
  }
  return {
    artifactHash: m.artifactHash,
    traceRoot: trace.root,
    weightsRoot: m.weightsRoot(),
    op,
    node: { op: node.op, attrs: node.attrs, inShapes: node.inShapes, outShape: node.outShape },
    index,
    value: out[index] as number,
    output: open(node.output, [index]),
    inputs: node.inputs.map((id, p) => open(id, touched[p] as Set<number>)),
  }
}

/** Chunk `c` of canonical tensor bytes, zero-padded to CHUNK_BYTES (the leaf preimage). */
function paddedChunk(bytes: Uint8Array, c: number): Uint8Array {
  const out = new Uint8Array(CHUNK_BYTES)
  out.set(bytes.subarray(c * CHUNK_BYTES, (c + 1) * CHUNK_BYTES))
  return out
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
export function recomputeValue(witness: Witness, modelNode?: IntNode): number {
  const op = Object.hasOwn(intOps, witness.node.op) ? intOps[witness.node.op] : undefined
  if (!op) throw new WitnessError('Unknown op', { op: witness.node.op })
  const node: IntNode = modelNode ?? {
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

/**
 * The outcome of checking a witness: `ok` (the committed value is what the op computes), `mismatch`
 * (a well-formed witness whose committed value differs from the recomputation: proof of a wrong
 * value), or `malformed` (the witness itself is invalid and proves nothing).
 */
export type WitnessCheck =
  | { ok: true; value: number }
  | { ok: false; kind: 'mismatch'; reason: string; committed: number; recomputed: number }
  | { ok: false; kind: 'malformed'; reason: string }

/** Depth of a Merkle tree over n leaves (padded to a power of two). */
function depth(n: number): number {
  return n <= 1 ? 0 : Math.ceil(Math.log2(n))
}

function isIndex(v: unknown, size: number): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) < size
}

/**
 * Verifies a witness against the model and the roots it opens. Checks, in order: the roots and
 * model id; that the op exists and the descriptor is the model's; that `index` is a position of
 * the op's output; for every opened tensor, its kind, type, leaf position and proof depths as
 * fixed by the model, that every chunk is a full 64-byte chunk at a valid position, and every
 * Merkle proof. Only then is the value recomputed — from the model's own node — and compared.
 *
 * @example
 * const check = verifyWitness(witness, { model, traceRoot })
 * if (!check.ok && check.kind === 'mismatch') console.log('wrong value proven', check)
 */
export function verifyWitness(witness: Witness, expected: { model: LoadedModel; traceRoot: Hex }): WitnessCheck {
  const { model } = expected
  const malformed = (reason: string): WitnessCheck => ({ ok: false, kind: 'malformed', reason })
  try {
    if (witness.traceRoot !== expected.traceRoot) return malformed('trace root differs')
    if (witness.weightsRoot !== model.weightsRoot()) return malformed('weights root differs')
    if (witness.artifactHash !== model.artifactHash) return malformed('artifact hash differs')
    const n = Number.isSafeInteger(witness.op) ? model.nodes[witness.op] : undefined
    if (!n) return malformed('no such op')
    if (
      n.op !== witness.node.op ||
      canonicalJson([n.attrs, n.inShapes, n.outShape, n.inputs, n.output]) !==
        canonicalJson([
          witness.node.attrs,
          witness.node.inShapes,
          witness.node.outShape,
          witness.inputs.map((t) => t.tensor),
          witness.output.tensor,
        ])
    ) {
      return malformed('op descriptor differs from the model')
    }
    if (!isIndex(witness.index, sizeOf(n.outShape))) return malformed('index is not a position of the output')
    const traceLeaves = [...model.model.inputs, ...model.nodes.map((x) => x.output)]
    for (const t of [witness.output, ...witness.inputs]) {
      const info = model.model.tensors[t.tensor] as TensorInfo
      const isConst = info.kind === 'const'
      const leaves = isConst ? model.constIds : traceLeaves
      if (t.kind !== (isConst ? 'const' : 'activation') || t.dtype !== info.dtype || t.leaf !== leaves.indexOf(t.tensor)) {
        return malformed(`tensor ${t.tensor}: kind, type or position differs from the model`)
      }
      if (t.rootSiblings.length !== depth(leaves.length)) return malformed(`tensor ${t.tensor}: root proof has the wrong depth`)
      const top = fromHex(isConst ? witness.weightsRoot : witness.traceRoot)
      if (!equalBytes(rootFromProof(fromHex(t.root), t.leaf, t.rootSiblings.map(fromHex)), top)) {
        return malformed(`tensor ${t.tensor}: root proof fails`)
      }
      const chunks = Math.ceil((sizeOf(info.shape) * bytesPerElement[info.dtype]) / CHUNK_BYTES)
      for (const c of t.chunks) {
        const data = fromHex(c.data)
        if (!isIndex(c.chunk, chunks) || data.length !== CHUNK_BYTES)
          return malformed(`tensor ${t.tensor}: chunk ${c.chunk} is not a valid chunk`)
        if (c.siblings.length !== depth(chunks)) return malformed(`tensor ${t.tensor}: chunk proof has the wrong depth`)
        if (!equalBytes(rootFromProof(leafHash(data), c.chunk, c.siblings.map(fromHex)), fromHex(t.root))) {
          return malformed(`tensor ${t.tensor} chunk ${c.chunk}: proof fails`)
        }
      }
    }
    const committed = openedValue(witness.output, witness.index)
    if (committed !== witness.value) return malformed('claimed value is not the committed one')
    const recomputed = recomputeValue(witness, n)
    if (recomputed !== committed) {
      return { ok: false, kind: 'mismatch', reason: `recomputed ${recomputed}, committed ${committed}`, committed, recomputed }
    }
    return { ok: true, value: committed }
  } catch (e) {
    return malformed((e as Error).message)
  }
}
