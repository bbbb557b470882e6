import type { AddressBook, Chain } from '@verity/chain'
import { audit, createVerityClient } from '@verity/sdk'
import type { Hex } from 'viem'
import { generatePrivateKey } from 'viem/accounts'

/**
 * The dashboard's audit: the SDK's `audit` through a client whose throwaway key never signs
 * anything (an audit only reads the receipt, the input and the model, and re-executes).
 */
export function readOnlyAudit(chain: Chain, book: AddressBook) {
  const client = createVerityClient({ chain, book, account: generatePrivateKey() })
  return (inferenceId: Hex, node: string) => audit(client, { inferenceId, node })
}
