import { type AddressBook, type Chain, type VerityContracts, verityContracts } from '@verity/chain'
import { boundedFetch, MODEL_FETCH_LIMITS } from '@verity/contracts'
import type { LoadedModel } from '@verity/runtime'
import type { Hex, LocalAccount } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { ModelUnavailableError } from './errors.js'
import { modelFromArtifact } from './reexecute.js'

export type CreateVerityClientParameters = {
  chain: Chain
  book: AddressBook
  /** The client's key: signs requests (authorizing fees from its escrow). */
  account: Hex | LocalAccount
  /** Node URLs to use instead of discovering them in the on-chain registry. */
  nodes?: string[]
}

export type VerityClient = {
  chain: Chain
  book: AddressBook
  account: LocalAccount
  contracts: VerityContracts
  domain: { chainId: number; settlement: Hex }
  nodes: string[] | undefined
  /** Models by id, fetched from their registered artifact URI and checked against the id. */
  model(modelId: Hex): Promise<LoadedModel>
}

/**
 * A Verity client: a chain, a deployment, and the key that signs requests. Actions
 * (`infer`, `getInference`, `waitForTrust`, `verifyReceipt`, `audit`…) take it as first argument.
 *
 * @example
 * const client = createVerityClient({ chain: await connect(rpcUrl), book: readAddressBook('addresses.json'), account: key })
 * const { inferenceId, outputs } = await infer(client, { modelId, inputs: { Input3: image } })
 */
export function createVerityClient(parameters: CreateVerityClientParameters): VerityClient {
  const account = typeof parameters.account === 'string' ? privateKeyToAccount(parameters.account) : parameters.account
  const contracts = verityContracts(parameters.chain, parameters.book)
  const models = new Map<string, Promise<LoadedModel>>()
  const fetchModel = async (modelId: Hex): Promise<LoadedModel> => {
    let uri: string
    try {
      uri = (await contracts.modelRegistry.read.getModel([modelId])).artifactURI
    } catch {
      throw new ModelUnavailableError(modelId, 'not registered on-chain')
    }
    const response = await boundedFetch(uri, MODEL_FETCH_LIMITS).catch((e: Error) => {
      throw new ModelUnavailableError(modelId, `cannot fetch ${uri}: ${e.message}`)
    })
    if (!response.ok) throw new ModelUnavailableError(modelId, `${uri} answered ${response.status}`)
    return modelFromArtifact(modelId, response.bytes, uri)
  }
  return {
    chain: parameters.chain,
    book: parameters.book,
    account,
    contracts,
    domain: { chainId: parameters.chain.chainId, settlement: parameters.book.contracts.settlement },
    nodes: parameters.nodes,
    model(modelId) {
      const id = modelId.toLowerCase()
      let entry = models.get(id)
      if (!entry) {
        entry = fetchModel(id as Hex)
        entry.catch(() => models.delete(id))
        models.set(id, entry)
      }
      return entry
    },
  }
}
