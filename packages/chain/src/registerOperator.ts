import { nodeRegistryAbi, verityTokenAbi } from '@verity/contracts'
import type { AddressBook } from './addressBook.js'
import type { TxSender, WriteResult } from './txSender.js'

/**
 * Registers the sender as an operator of `role` (NodeRegistry.Role) with `stake` tokens: approves
 * the registry for exactly that stake, then registers with the endpoint its peers will call.
 *
 * @example
 * await registerOperator(new TxSender({ chain, account: key }), book, { role: Role.verifier, endpoint, stake })
 */
export async function registerOperator(
  sender: TxSender,
  book: AddressBook,
  operator: { role: number; endpoint: string; stake: bigint },
): Promise<WriteResult> {
  await sender.write({
    address: book.contracts.token,
    abi: verityTokenAbi,
    functionName: 'approve',
    args: [book.contracts.nodeRegistry, operator.stake],
  })
  return sender.write({
    address: book.contracts.nodeRegistry,
    abi: nodeRegistryAbi,
    functionName: 'register',
    args: [operator.role, operator.endpoint, operator.stake],
  })
}
