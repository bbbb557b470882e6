import { disputeGameAbi, modelRegistryAbi, nodeRegistryAbi, oneStepVerifierAbi, settlementAbi, verityTokenAbi } from '@verity/contracts'
import {
  type Abi,
  type Account,
  type GetContractReturnType,
  getContract,
  type Hex,
  type PublicClient,
  type Transport,
  type Chain as ViemChain,
  type WalletClient,
} from 'viem'
import type { AddressBook } from './addressBook.js'
import type { Chain } from './chain.js'

/** Every custom error of the Verity contracts and of the OpenZeppelin pieces they use. */
export const verityErrorsAbi = [
  ...settlementAbi,
  ...nodeRegistryAbi,
  ...modelRegistryAbi,
  ...verityTokenAbi,
  ...disputeGameAbi,
  ...oneStepVerifierAbi,
].filter(
  (item, index, all) => item.type === 'error' && all.findIndex((other) => other.type === 'error' && other.name === item.name) === index,
) as Abi

type Clients = { public: PublicClient<Transport, ViemChain>; wallet?: WalletClient<Transport, ViemChain, Account> }
type Instance<abi extends Abi> = GetContractReturnType<abi, Clients>

export type VerityContracts = {
  token: Instance<typeof verityTokenAbi>
  modelRegistry: Instance<typeof modelRegistryAbi>
  nodeRegistry: Instance<typeof nodeRegistryAbi>
  settlement: Instance<typeof settlementAbi>
  disputeGame: Instance<typeof disputeGameAbi>
}

/**
 * Typed viem contract instances of a deployment, reading through the chain's public client and,
 * when `account` is given, writing through a local-signing wallet client (for nonce management
 * and retries prefer `TxSender`).
 *
 * @example
 * const { settlement } = verityContracts(chain, book)
 * const batch = await settlement.read.getBatch([1n])
 */
export function verityContracts(chain: Chain, book: AddressBook, account?: Account | Hex): VerityContracts {
  const client: Clients =
    account === undefined ? { public: chain.publicClient } : { public: chain.publicClient, wallet: chain.walletClient(account) }
  return {
    token: getContract({ abi: verityTokenAbi, address: book.contracts.token, client }),
    modelRegistry: getContract({ abi: modelRegistryAbi, address: book.contracts.modelRegistry, client }),
    nodeRegistry: getContract({ abi: nodeRegistryAbi, address: book.contracts.nodeRegistry, client }),
    settlement: getContract({ abi: settlementAbi, address: book.contracts.settlement, client }),
    disputeGame: getContract({ abi: disputeGameAbi, address: book.contracts.disputeGame, client }),
  } as VerityContracts
}
