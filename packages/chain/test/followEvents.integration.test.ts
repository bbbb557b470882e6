import { verityTokenAbi } from '@verity/contracts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type AddressBook,
  deployVerity,
  type EmbeddedChain,
  followEvents,
  memoryCursor,
  startEmbeddedChain,
  TxSender,
} from '../src/index.js'

describe('followEvents', () => {
  let chain: EmbeddedChain
  let book: AddressBook
  let sender: TxSender
  beforeAll(async () => {
    chain = await startEmbeddedChain()
    book = await deployVerity({ chain, deployer: chain.accounts[0]!.privateKey })
    sender = new TxSender({ chain, account: chain.accounts[0]!.privateKey })
  })
  afterAll(() => chain.close())

  const transfer = (amount: bigint) =>
    sender.write({
      address: book.contracts.token,
      abi: verityTokenAbi,
      functionName: 'transfer',
      args: [chain.accounts[1]!.address, amount],
    })

  it('delivers each log once, in order, only after `confirmations` blocks, and resumes from its cursor', async () => {
    const start = await chain.publicClient.getBlockNumber()
    const cursor = memoryCursor()
    const seen: bigint[] = []
    const follow = () =>
      followEvents({
        chain,
        abi: verityTokenAbi,
        address: book.contracts.token,
        fromBlock: start + 1n,
        cursor,
        confirmations: 2,
        pollIntervalMs: 20,
        maxBlockRange: 2n,
        onLogs: (logs) => {
          for (const log of logs) if (log.eventName === 'Transfer') seen.push(log.args.value)
        },
      })
    let follower = follow()
    for (const amount of [1n, 2n, 3n]) await transfer(amount)
    await follower.caughtUp()
    // The last two transfers have fewer than two blocks on top of them.
    expect(seen).toEqual([1n])
    await chain.mine(2)
    await follower.caughtUp()
    expect(seen).toEqual([1n, 2n, 3n])
    await follower.stop()

    // Stopped: new events wait in the chain; a new follower on the same cursor picks up exactly those.
    for (const amount of [4n, 5n]) await transfer(amount)
    await chain.mine(2)
    expect(seen).toEqual([1n, 2n, 3n])
    follower = follow()
    await follower.caughtUp()
    expect(seen).toEqual([1n, 2n, 3n, 4n, 5n])
    expect(cursor.value).toBe((await chain.publicClient.getBlockNumber()) - 2n)
    await follower.stop()
  })

  it('does not move its cursor past a range whose handler failed, and retries it', async () => {
    const start = await chain.publicClient.getBlockNumber()
    await transfer(7n)
    const cursor = memoryCursor()
    const errors: unknown[] = []
    let failures = 1
    const seen: bigint[] = []
    const follower = followEvents({
      chain,
      abi: verityTokenAbi,
      address: book.contracts.token,
      fromBlock: start + 1n,
      cursor,
      pollIntervalMs: 20,
      onError: (e) => errors.push(e),
      onLogs: (logs) => {
        if (failures-- > 0) throw new Error('handler crashed')
        for (const log of logs) if (log.eventName === 'Transfer') seen.push(log.args.value)
      },
    })
    await follower.caughtUp()
    expect(errors.map(String)).toEqual(['Error: handler crashed'])
    expect(seen).toEqual([7n])
    await follower.stop()
  })
})
