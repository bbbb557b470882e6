import { type AddressBook, type Chain, TxSender } from '@verity/chain'
import { boundedFetch, modelGraph, modelRegistryAbi } from '@verity/contracts'
import { canonicalJson, loadModel, type TensorInfo } from '@verity/runtime'
import { type Hex, keccak256, toHex } from 'viem'
import { ApiError } from './errors.js'

/** keccak256 of the canonical JSON of the model's input and output specs (names, shapes, scales). */
export function specHashOf(artifact: Uint8Array): Hex {
  const { model } = loadModel(artifact)
  const spec = (ids: number[]) =>
    ids.map((id) => ((t: TensorInfo) => ({ name: t.name, shape: t.shape, dtype: t.dtype, scale: t.scale }))(model.tensors[id]!))
  return keccak256(toHex(canonicalJson({ inputs: spec(model.inputs), outputs: spec(model.outputs) })))
}

/**
 * Publishes a model: uploads the artifact to a hub (which checks it loads and names it by its
 * sha256) and registers it on-chain with its artifact URI, weightsRoot and spec hash. Publishing
 * a model that is already registered only uploads it.
 */
export async function publishModel(parameters: {
  chain: Chain
  book: AddressBook
  key: Hex
  hubUrl: string
  artifact: Uint8Array
}): Promise<{
  modelId: Hex
  artifactURI: string
  weightsRoot: Hex
  graphRoot: Hex
  specHash: Hex
  registered: boolean
}> {
  const response = await boundedFetch(`${parameters.hubUrl}/v1/models`, { method: 'PUT', body: parameters.artifact, timeoutMs: 120_000 })
  let body: { modelId?: Hex; error?: { code: string; message: string } } = {}
  try {
    body = response.json() as typeof body
  } catch {}
  if (!response.ok || !body.modelId)
    throw new ApiError(response.status, body.error?.code ?? 'HUB_REJECTED', body.error?.message ?? `hub answered ${response.status}`)
  const model = loadModel(parameters.artifact)
  const artifactURI = `${parameters.hubUrl}/v1/models/${body.modelId}`
  const weightsRoot = model.weightsRoot()
  const { graphRoot } = modelGraph(model)
  const specHash = specHashOf(parameters.artifact)
  const sender = new TxSender({ chain: parameters.chain, account: parameters.key })
  let registered = false
  const exists = await parameters.chain.publicClient
    .readContract({
      address: parameters.book.contracts.modelRegistry,
      abi: modelRegistryAbi,
      functionName: 'getModel',
      args: [body.modelId],
    })
    .then(() => true)
    .catch(() => false)
  if (!exists) {
    await sender.write({
      address: parameters.book.contracts.modelRegistry,
      abi: modelRegistryAbi,
      functionName: 'register',
      args: [body.modelId, artifactURI, weightsRoot, graphRoot, specHash],
    })
    registered = true
  }
  return { modelId: body.modelId, artifactURI, weightsRoot, graphRoot, specHash, registered }
}
