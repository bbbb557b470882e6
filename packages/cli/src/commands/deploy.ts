import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { connect, type DeploymentParams, deployVerity, readKeyFile, writeAddressBook } from '@verity/chain'
import type { Address } from 'viem'

export type DeployOptions = { rpc: string; key: string; out: string; token?: Address; params: Partial<DeploymentParams>; json: boolean }

/** `verity deploy`: deploys the contract set to any JSON-RPC chain and writes the address book. */
export async function deploy(options: DeployOptions): Promise<void> {
  const key = readKeyFile(options.key)
  const chain = await connect(options.rpc)
  const book = await deployVerity({ chain, deployer: key, params: options.params, ...(options.token ? { token: options.token } : {}) })
  mkdirSync(dirname(options.out), { recursive: true })
  writeAddressBook(options.out, book)
  if (options.json) return void console.log(JSON.stringify({ chainId: book.chainId, contracts: book.contracts, addresses: options.out }))
  console.log(`Deployed Verity on chain ${book.chainId} (${options.rpc})`)
  for (const [name, address] of Object.entries(book.contracts)) console.log(`  ${name.padEnd(14)} ${address}`)
  console.log(`  address book   ${options.out}`)
}
