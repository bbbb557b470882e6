import { type AddressBook, type EmbeddedChain, TxSender, verityContracts } from '@verity/chain'
import { Role } from '@verity/contracts'

const TOKEN = 10n ** 18n

/**
 * Registers the chain's account 1 as an inference node staking 2,000 tokens (funded with 5,000 by
 * account 0, the deployer) — what a node test needs before it can commit batches.
 */
export async function stakeInferenceNode(chain: EmbeddedChain, book: AddressBook): Promise<TxSender> {
  const { token, nodeRegistry } = verityContracts(chain, book)
  const deployer = new TxSender({ chain, account: chain.accounts[0]!.privateKey })
  const node = new TxSender({ chain, account: chain.accounts[1]!.privateKey })
  await deployer.write({ address: book.contracts.token, abi: token.abi, functionName: 'transfer', args: [node.address, 5000n * TOKEN] })
  await node.write({
    address: book.contracts.token,
    abi: token.abi,
    functionName: 'approve',
    args: [book.contracts.nodeRegistry, 2n ** 255n],
  })
  await node.write({
    address: book.contracts.nodeRegistry,
    abi: nodeRegistry.abi,
    functionName: 'register',
    args: [Role.inference, 'http://node', 2000n * TOKEN],
  })
  return node
}
