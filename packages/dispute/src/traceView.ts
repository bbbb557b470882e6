import { type ModelGraph, modelGraph } from '@verity/contracts'
import { CHUNK_BYTES, chunkLeaves, type LoadedModel, merkleLevels, merkleProof, type Trace, tensorBytes, toHex } from '@verity/runtime'
import type { Hex } from 'viem'

/**
 * One party's view of a run for a dispute: the model's graph, the trace (honest or not), and the
 * Merkle trees a game walks — the trace tree over tensor roots (level 1) and each tensor's chunk
 * tree (level 2), built on demand and cached.
 */
export type TraceView = {
  model: LoadedModel
  graph: ModelGraph
  trace: Trace
  /** Hash of the node at `height` (0 = leaves) and `index` of the level-1 tree, or of leaf `leaf`'s chunk tree. */
  node(level: 1 | 2, height: number, index: number, leaf?: number): Hex
  /** Siblings of trace leaf `leaf` from this view's own tree. */
  leafProof(leaf: number): Hex[]
  /** Siblings of weights leaf `leaf` (constant tensor `constIds[leaf]`) in the weights tree. */
  constProof(leaf: number): Hex[]
  /** Chunk `chunk` of trace leaf `leaf`'s tensor, zero-padded to 64 bytes. */
  chunk(leaf: number, chunk: number): Uint8Array
  /** Bytes of trace leaf `leaf`'s tensor. */
  bytes(leaf: number): Uint8Array
}

const graphs = new WeakMap<LoadedModel, ModelGraph>()

/** The model's graph commitment, computed once per loaded model. */
export function graphOf(model: LoadedModel): ModelGraph {
  let graph = graphs.get(model)
  if (!graph) {
    graph = modelGraph(model)
    graphs.set(model, graph)
  }
  return graph
}

/** A view over `trace` (from `runQuantized(model, inputs, { trace: true })` or a tampered one). */
export function traceView(model: LoadedModel, trace: Trace): TraceView {
  const traceLevels = merkleLevels(trace.roots)
  let constLevels: Uint8Array[][] | undefined
  const bytes = new Map<number, Uint8Array>()
  const chunkTrees = new Map<number, Uint8Array[][]>()
  const bytesOf = (leaf: number) => {
    let b = bytes.get(leaf)
    if (!b) {
      b = tensorBytes(trace.tensors.get(trace.leaves[leaf]!)!)
      bytes.set(leaf, b)
    }
    return b
  }
  const chunkTree = (leaf: number) => {
    let levels = chunkTrees.get(leaf)
    if (!levels) {
      levels = merkleLevels(chunkLeaves(bytesOf(leaf)))
      chunkTrees.set(leaf, levels)
    }
    return levels
  }
  return {
    model,
    graph: graphOf(model),
    trace,
    node(level, height, index, leaf) {
      const levels = level === 1 ? traceLevels : chunkTree(leaf!)
      return toHex(levels[height]![index]!) as Hex
    },
    leafProof: (leaf) => merkleProof(traceLevels, leaf).map((h) => toHex(h) as Hex),
    constProof(leaf) {
      constLevels ??= merkleLevels(model.constRoots())
      return merkleProof(constLevels, leaf).map((h) => toHex(h) as Hex)
    },
    chunk(leaf, chunk) {
      const out = new Uint8Array(CHUNK_BYTES)
      out.set(bytesOf(leaf).subarray(chunk * CHUNK_BYTES, (chunk + 1) * CHUNK_BYTES))
      return out
    },
    bytes: bytesOf,
  }
}
