import { type AddressBook, type Chain, TxSender } from '@verity/chain'
import { identifyModel, type ModelIdentity, modelRegistryAbi } from '@verity/contracts'
import { boundedFetch } from '@verity/protocol'
import { loadModel } from '@verity/runtime'
import { type Hex, parseEventLogs } from 'viem'
import { ApiError } from './errors.js'

/**
 * Publishes a model: uploads the artifact to a hub (which checks it loads and names it by its model
 * id) and registers its roots on-chain with its artifact URI; the registry computes the id from the
 * roots. Publishing a model that is already registered only uploads it.
 */
export async function publishModel(parameters: {
  chain: Chain
  book: AddressBook
  key: Hex
  hubUrl: string
  artifact: Uint8Array
}): Promise<ModelIdentity & { artifactURI: string; registered: boolean }> {
  const identity = identifyModel(loadModel(parameters.artifact))
  const { modelId } = identity
  const response = await boundedFetch(`${parameters.hubUrl}/v1/models`, { method: 'PUT', body: parameters.artifact, timeoutMs: 120_000 })
  let body: { modelId?: Hex; error?: { code: string; message: string } } = {}
  try {
    body = response.json() as typeof body
  } catch {}
  if (!response.ok || !body.modelId)
    throw new ApiError(response.status, body.error?.code ?? 'HUB_REJECTED', body.error?.message ?? `hub answered ${response.status}`)
  if (body.modelId !== modelId)
    throw new ApiError(502, 'HUB_REJECTED', `the hub named the artifact ${body.modelId}, its roots name ${modelId}`, {
      modelId,
      found: body.modelId,
    })
  const artifactURI = `${parameters.hubUrl}/v1/models/${modelId}`
  const registry = { address: parameters.book.contracts.modelRegistry, abi: modelRegistryAbi } as const
  const exists = await parameters.chain.publicClient
    .readContract({ ...registry, functionName: 'getModel', args: [modelId] })
    .then(() => true)
    .catch(() => false)
  let registered = false
  if (!exists) {
    const sender = new TxSender({ chain: parameters.chain, account: parameters.key })
    const result = await sender.write({
      ...registry,
      functionName: 'register',
      args: [artifactURI, identity.artifactHash, identity.weightsRoot, identity.graphRoot, identity.specHash],
    })
    const [event] = parseEventLogs({ abi: modelRegistryAbi, logs: result.receipt.logs, eventName: 'ModelRegistered' })
    if (event?.args.modelId !== modelId)
      throw new ApiError(500, 'MODEL_ID_MISMATCH', `the registry named the model ${event?.args.modelId}, expected ${modelId}`)
    registered = true
  }
  return { ...identity, artifactURI, registered }
}
