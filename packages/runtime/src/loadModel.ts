import { decodeArtifact } from './artifact/artifact.js'
import { merkleRoot, sha256, tensorRoot, toHex } from './merkle.js'
import type { Model } from './model.js'
import type { IntNode } from './ops/types.js'
import type { IntArray } from './tensor.js'
import { tensorBytes } from './tensorBytes.js'

export type Hex = `0x${string}`

/** A decoded artifact, ready to run: its hash, integer nodes with shapes, lazily computed weightsRoot. */
export type LoadedModel = {
  model: Model
  artifact: Uint8Array
  /**
   * sha256 of the artifact bytes. The model id (docs/protocol.md) commits to it together with the
   * weights, graph and spec roots: `identifyModel` in @verity/contracts derives it.
   */
  artifactHash: Hex
  nodes: IntNode[]
  /** Const tensor ids in tensor-id order: leaf i of the weights tree is constIds[i]. */
  constIds: number[]
  /** Merkle root over the roots of all constant tensors, in tensor-id order. */
  weightsRoot(): Hex
  /** Root of every constant tensor (cached with weightsRoot). */
  constRoots(): Uint8Array[]
}

/**
 * Loads a model artifact.
 *
 * @example
 * const model = loadModel(readFileSync('mnist.vrty'))
 * console.log(model.artifactHash, model.weightsRoot())
 */
export function loadModel(artifact: Uint8Array): LoadedModel {
  const model = decodeArtifact(artifact)
  const nodes: IntNode[] = model.nodes.map((n, index) => ({
    index,
    name: n.name,
    op: n.op,
    inputs: n.inputs,
    output: n.output,
    attrs: n.attrs,
    inShapes: n.inputs.map((id) => model.tensors[id]?.shape as number[]),
    outShape: model.tensors[n.output]?.shape as number[],
  }))
  const constIds = model.tensors.flatMap((t, id) => (t.kind === 'const' ? [id] : []))
  let roots: Uint8Array[] | undefined
  let weights: Hex | undefined
  const constRoots = () => {
    roots ??= constIds.map((id) => tensorRoot(tensorBytes(model.constants.get(id) as IntArray)))
    return roots
  }
  return {
    model,
    artifact,
    artifactHash: toHex(sha256(artifact)),
    nodes,
    constIds,
    constRoots,
    weightsRoot() {
      weights ??= toHex(merkleRoot(constRoots()))
      return weights
    },
  }
}
