import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import {
  type AddressBook,
  type DeploymentParams,
  deployVerity,
  type EmbeddedChain,
  startEmbeddedChain,
  TxSender,
  writeAddressBook,
} from '@verity/chain'
import { verityTokenAbi } from '@verity/contracts'
import { formatUnits, parseUnits } from 'viem'

export type ChainStartOptions = {
  /** Address the JSON-RPC server listens on (127.0.0.1; 0.0.0.0 serves other machines). */
  host: string
  port: number
  addresses: string
  keysDir: string
  params: Partial<DeploymentParams>
  /** Tokens given to each development account but the deployer. */
  fund: string
  blockTimeMs?: number
  /** Print the summary as one JSON line (for scripts and tests). */
  json: boolean
}

export type StartedDevChain = { chain: EmbeddedChain; book: AddressBook }

/** Starts the embedded chain, deploys Verity, funds the development accounts and writes their key files. */
export async function startDevChain(options: ChainStartOptions): Promise<StartedDevChain> {
  const chain = await startEmbeddedChain({
    host: options.host,
    port: options.port,
    ...(options.blockTimeMs ? { blockTimeMs: options.blockTimeMs } : {}),
  })
  const [deployer, ...others] = chain.accounts
  const book = await deployVerity({ chain, deployer: deployer!.privateKey, params: options.params })
  const sender = new TxSender({ chain, account: deployer!.privateKey })
  const amount = parseUnits(options.fund, 18)
  for (const account of others) {
    await sender.write({ address: book.contracts.token, abi: verityTokenAbi, functionName: 'transfer', args: [account.address, amount] })
  }
  mkdirSync(dirname(options.addresses), { recursive: true })
  writeAddressBook(options.addresses, book)
  mkdirSync(options.keysDir, { recursive: true })
  chain.accounts.forEach((account, i) => {
    writeFileSync(join(options.keysDir, `${i}.key`), `${account.privateKey}\n`, { mode: 0o600 })
  })
  return { chain, book }
}

/** `verity chain start`: the embedded chain with the contracts deployed, served until Ctrl-C. */
export async function chainStart(options: ChainStartOptions): Promise<void> {
  const { chain, book } = await startDevChain(options)
  if (options.json) {
    console.log(
      JSON.stringify({
        rpcUrl: chain.rpcUrl,
        chainId: chain.chainId,
        addresses: options.addresses,
        keysDir: options.keysDir,
        contracts: book.contracts,
      }),
    )
  } else {
    const p = book.params
    console.log('Verity development chain (in-process EVM, EDR)')
    console.log(`  RPC URL         ${chain.rpcUrl}   chain id ${chain.chainId}`)
    for (const [name, address] of Object.entries(book.contracts)) console.log(`  ${name.padEnd(15)} ${address}`)
    console.log(`  address book    ${options.addresses}`)
    console.log(
      `  parameters      challenge window ${p.challengeWindow} s, disputes ≤ ${p.maxDisputeDuration} s, unbonding ${p.unbondingDelay} s, ` +
        `escrow withdrawal ${p.escrowWithdrawalDelay} s, verifier share ${p.verifierShareBps / 100} %`,
    )
    console.log(
      `  minimum stakes  inference ${formatUnits(p.minInferenceStake, 18)} VRT, verifier ${formatUnits(p.minVerifierStake, 18)} VRT`,
    )
    console.log('')
    console.log(
      `Development accounts (standard test mnemonic: never use these keys on a real network); key files in ${options.keysDir}/<i>.key`,
    )
    chain.accounts.forEach((account, i) => {
      console.log(`  (${i}) ${account.address}  ${i === 0 ? 'deployer, holds the token supply' : `${options.fund} VRT`}`)
    })
    console.log('')
    console.log('From another terminal:')
    console.log(
      `  verity stake --role inference --amount 1000 --endpoint http://127.0.0.1:7001 --rpc ${chain.rpcUrl} --key ${options.keysDir}/1.key --addresses ${options.addresses}`,
    )
    console.log('Press Ctrl-C to stop.')
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  await chain.close()
}
