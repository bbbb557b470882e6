import { canonicalJson, type LoadedModel, type TensorInfo } from '@verity/runtime/core'
import { encodePacked, type Hex, keccak256, sha256, stringToHex } from 'viem'
import { modelGraph } from './modelGraph.js'

/**
 * What a model id commits to — each derivable from the artifact alone, and each stored with the
 * model in the ModelRegistry: the artifact's sha256, its weights root (disputes open single weights
 * against it), its graph root (disputes check one op against it) and its spec hash.
 */
export type ModelRoots = { artifactHash: Hex; weightsRoot: Hex; graphRoot: Hex; specHash: Hex }

/** A model's roots and the id they name. */
export type ModelIdentity = ModelRoots & { modelId: Hex }

/**
 * keccak256 of the canonical JSON of the model's input and output specs (name, shape, dtype, scale
 * of each, in order): `{ inputs: […], outputs: […] }`.
 */
export function specHashOf(model: LoadedModel): Hex {
  const spec = (ids: number[]) =>
    ids.map((id) => ((t: TensorInfo) => ({ name: t.name, shape: t.shape, dtype: t.dtype, scale: t.scale }))(model.model.tensors[id]!))
  return keccak256(stringToHex(canonicalJson({ inputs: spec(model.model.inputs), outputs: spec(model.model.outputs) })))
}

/**
 * The model id of these roots: sha256 of the 128-byte header `weightsRoot ‖ graphRoot ‖ specHash ‖
 * artifactHash` (ModelRegistry.modelIdOf computes the same on-chain). Wrong roots name another id.
 *
 * @example
 * modelIdOf(modelRootsOf(loadModel(artifact))) // the id `register` records for the artifact
 */
export function modelIdOf(roots: ModelRoots): Hex {
  return sha256(
    encodePacked(['bytes32', 'bytes32', 'bytes32', 'bytes32'], [roots.weightsRoot, roots.graphRoot, roots.specHash, roots.artifactHash]),
  )
}

/** The roots of a loaded artifact, derived from its bytes. */
export function modelRootsOf(model: LoadedModel): ModelRoots {
  return {
    artifactHash: model.artifactHash,
    weightsRoot: model.weightsRoot(),
    graphRoot: modelGraph(model).graphRoot,
    specHash: specHashOf(model),
  }
}

/**
 * A loaded artifact's roots and model id.
 *
 * @example
 * const { modelId, graphRoot } = identifyModel(loadModel(readFileSync('mnist-8.vrty')))
 */
export function identifyModel(model: LoadedModel): ModelIdentity {
  const roots = modelRootsOf(model)
  return { ...roots, modelId: modelIdOf(roots) }
}
