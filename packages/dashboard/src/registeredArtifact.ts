import { type AddressBook, type Chain, verityContracts } from '@verity/chain'
import { boundedFetch, MODEL_FETCH_LIMITS } from '@verity/contracts'
import type { Hex } from 'viem'

/**
 * Fetches a model's artifact from the URI registered for it on-chain. The bytes are passed on
 * unchecked: whoever runs them (the page) checks that they hash to the model id.
 */
export function registeredArtifact(chain: Chain, book: AddressBook) {
  const contracts = verityContracts(chain, book)
  return async (modelId: Hex): Promise<Uint8Array> => {
    const { artifactURI } = await contracts.modelRegistry.read.getModel([modelId])
    const response = await boundedFetch(artifactURI, MODEL_FETCH_LIMITS)
    if (!response.ok) throw new Error(`${artifactURI} answered ${response.status}`)
    return response.bytes
  }
}
