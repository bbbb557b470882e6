import { type AddressBook, type Chain, type VerityContracts, verityContracts } from '@verity/chain'
import type { LoadedModel } from '@verity/runtime'
import type { Hex, LocalAccount } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { type CreateModelLoaderParameters, createModelLoader } from './createModelLoader.js'

export type CreateVerityClientParameters = {
  chain: Chain
  book: AddressBook
  /** The client's key: signs requests (authorizing fees from its escrow). */
  account: Hex | LocalAccount
  /** Node URLs to use instead of discovering them in the on-chain registry. */
  nodes?: string[]
  /** Bounds and extra sources of the model loader behind `model` (createModelLoader). */
  models?: Omit<CreateModelLoaderParameters, 'chain' | 'book'>
}

export type VerityClient = {
  chain: Chain
  book: AddressBook
  account: LocalAccount
  contracts: VerityContracts
  domain: { chainId: number; settlement: Hex }
  nodes: string[] | undefined
  /** Models by id, fetched from their registered artifact URI and checked against the id and the registered roots (createModelLoader). */
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
  const models = createModelLoader({ chain: parameters.chain, book: parameters.book, ...parameters.models })
  return {
    chain: parameters.chain,
    book: parameters.book,
    account,
    contracts,
    domain: { chainId: parameters.chain.chainId, settlement: parameters.book.contracts.settlement },
    nodes: parameters.nodes,
    model: (modelId) => models.load(modelId),
  }
}
