import { TxSender } from '@verity/chain'
import type { VerityClient } from './createVerityClient.js'

/** Approves the settlement contract and deposits `amount` (token base units) into the client's escrow. */
export async function depositEscrow(client: VerityClient, parameters: { amount: bigint }): Promise<{ escrow: bigint }> {
  const sender = new TxSender({ chain: client.chain, account: client.account })
  const { token, settlement } = client.book.contracts
  const allowance = await client.contracts.token.read.allowance([client.account.address, settlement])
  if (allowance < parameters.amount) {
    await sender.write({ address: token, abi: client.contracts.token.abi, functionName: 'approve', args: [settlement, parameters.amount] })
  }
  await sender.write({ address: settlement, abi: client.contracts.settlement.abi, functionName: 'deposit', args: [parameters.amount] })
  return { escrow: await client.contracts.settlement.read.availableEscrow([client.account.address]) }
}
