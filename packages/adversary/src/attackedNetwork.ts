import type { AddressBook, EmbeddedChain } from '@verity/chain'
import type { MnistSet } from '@verity/runtime'
import type { VerityClient } from '@verity/sdk'
import type { Hex } from 'viem'

/**
 * The network an attack runs against (a devnet): its chain, contracts, the published mnist-8, an
 * honest funded client, the honest nodes (address and public URL) and verifiers.
 */
export type AttackedNetwork = {
  chain: EmbeddedChain
  book: AddressBook
  modelId: Hex
  mnist: MnistSet
  client: VerityClient
  nodes: readonly { node: { address: Hex }; url: string }[]
  verifiers: readonly { address: Hex }[]
}
