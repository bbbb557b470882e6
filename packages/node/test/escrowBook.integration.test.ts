import { deployVerity, type EmbeddedChain, startEmbeddedChain, TxSender } from '@verity/chain'
import { settlementAbi, verityTokenAbi } from '@verity/contracts'
import { createVerityClient, depositEscrow } from '@verity/sdk'
import type { Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEscrowBook } from '../src/escrowBook.js'

const TOKEN = 10n ** 18n

/**
 * The node's local knowledge of clients' escrow against the real Settlement contract on the
 * embedded chain: read once, then refreshed by deposit and withdrawal events, not read per request.
 */
describe('escrow book', () => {
  let chain: EmbeddedChain
  let book: Awaited<ReturnType<typeof deployVerity>>
  let reads = 0

  beforeAll(async () => {
    chain = await startEmbeddedChain({ accounts: 3 })
    book = await deployVerity({ chain, deployer: chain.accounts[0]!.privateKey })
    await new TxSender({ chain, account: chain.accounts[0]!.privateKey }).write({
      address: book.contracts.token,
      abi: verityTokenAbi,
      functionName: 'transfer',
      args: [chain.accounts[1]!.address, 1000n * TOKEN],
    })
    // Counts the escrow reads that reach the chain (the chain itself is untouched).
    const readContract = chain.publicClient.readContract.bind(chain.publicClient)
    chain.publicClient.readContract = ((args: { functionName: string }) => {
      if (args.functionName === 'availableEscrow') reads++
      return readContract(args as never)
    }) as typeof chain.publicClient.readContract
  }, 60_000)
  afterAll(() => chain?.close())

  it('reads a client once, and again only after an event moved its escrow', async () => {
    const client = createVerityClient({ chain, book, account: chain.accounts[1]!.privateKey })
    const address = client.account.address.toLowerCase() as Hex
    await depositEscrow(client, { amount: 100n * TOKEN })
    reads = 0
    const escrows = createEscrowBook({ chain, book, log: () => {} })
    await escrows.start()
    expect(await escrows.available(address)).toBe(100n * TOKEN)
    for (let i = 0; i < 50; i++) expect(await escrows.available(address)).toBe(100n * TOKEN)
    expect(reads).toBe(1)

    // An announced withdrawal lowers what the node may count on, as soon as the follower has seen it.
    const sender = new TxSender({ chain, account: chain.accounts[1]!.privateKey })
    await sender.write({ address: book.contracts.settlement, abi: settlementAbi, functionName: 'requestWithdrawal', args: [30n * TOKEN] })
    const until = async (value: bigint) => {
      for (let i = 0; i < 100 && (await escrows.available(address)) !== value; i++) await new Promise((r) => setTimeout(r, 50))
      return escrows.available(address)
    }
    expect(await until(70n * TOKEN)).toBe(70n * TOKEN)
    const afterWithdrawal = reads
    await depositEscrow(client, { amount: 5n * TOKEN })
    expect(await until(75n * TOKEN)).toBe(75n * TOKEN)
    expect(reads).toBeGreaterThan(afterWithdrawal)
    const settled = reads
    for (let i = 0; i < 20; i++) await escrows.available(address)
    expect(reads).toBe(settled)
    await escrows.stop()
    // Stopped: every call reads the chain again.
    await escrows.available(address)
    expect(reads).toBe(settled + 1)
  }, 60_000)
})
