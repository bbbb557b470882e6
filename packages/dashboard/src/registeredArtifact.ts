import type { AddressBook, Chain } from '@verity/chain'
import { type CreateModelLoaderParameters, createModelLoader } from '@verity/sdk'
import type { Hex } from 'viem'

/**
 * A model's artifact, loaded by id through the SDK's model loader (bounded fetch from the registered
 * URI, bytes checked against the registered hash, roots against the registered roots). The page
 * checks the bytes against the model id again before running them.
 */
export function registeredArtifact(chain: Chain, book: AddressBook, options: Omit<CreateModelLoaderParameters, 'chain' | 'book'> = {}) {
  const models = createModelLoader({ chain, book, ...options })
  return async (modelId: Hex): Promise<Uint8Array> => (await models.load(modelId)).artifact
}
