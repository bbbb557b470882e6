import { verityTokenAbi } from '@verity/contracts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type AddressBook,
  ContractRevertError,
  connect,
  deployVerity,
  type EmbeddedChain,
  startEmbeddedChain,
  TransactionSendError,
  TxSender,
} from '../src/index.js'
import { type FlakyProxy, startFlakyProxy } from './flakyProxy.js'

describe('TxSender', () => {
  let chain: EmbeddedChain
  let book: AddressBook
  let proxy: FlakyProxy
  beforeAll(async () => {
    chain = await startEmbeddedChain()
    book = await deployVerity({ chain, deployer: chain.accounts[0]!.privateKey })
    proxy = await startFlakyProxy(chain.rpcUrl)
  })
  afterAll(async () => {
    await proxy.close()
    await chain.close()
  })
  const token = () => ({ address: book.contracts.token, abi: verityTokenAbi }) as const
  const balanceOf = (address: `0x${string}`) =>
    chain.publicClient.readContract({ ...token(), functionName: 'balanceOf', args: [address] }) as Promise<bigint>

  it('gives 20 concurrent writes from one account 20 consecutive nonces', async () => {
    const sender = new TxSender({ chain, account: chain.accounts[0]!.privateKey })
    const to = chain.accounts[5]!.address
    const start = await chain.publicClient.getTransactionCount({ address: sender.address })
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => sender.write({ ...token(), functionName: 'transfer', args: [to, BigInt(i + 1)] })),
    )
    const nonces = await Promise.all(results.map(async (r) => (await chain.publicClient.getTransaction({ hash: r.hash })).nonce))
    expect([...nonces].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => start + i))
    expect(await balanceOf(to)).toBe(210n)
  })

  it('resynchronizes when another process used the account nonce', async () => {
    const key = chain.accounts[0]!.privateKey
    const retries: unknown[] = []
    const first = new TxSender({ chain, account: key, retryDelayMs: 10, onRetry: (e) => retries.push(e) })
    const other = new TxSender({ chain, account: key })
    const to = chain.accounts[6]!.address
    await first.write({ ...token(), functionName: 'transfer', args: [to, 1n] })
    await other.write({ ...token(), functionName: 'transfer', args: [to, 2n] })
    // `first` still believes the next nonce is the one `other` consumed.
    await first.write({ ...token(), functionName: 'transfer', args: [to, 4n] })
    expect(retries.length).toBe(1)
    expect(String(retries[0])).toMatch(/nonce/i)
    expect(await balanceOf(to)).toBe(7n)
  })

  it('sends a transaction exactly once when the answer to eth_sendRawTransaction is lost', async () => {
    const viaProxy = await connect(proxy.url, { pollingInterval: 50 })
    const sender = new TxSender({ chain: viaProxy, account: chain.accounts[1]!.privateKey, retryDelayMs: 20 })
    await new TxSender({ chain, account: chain.accounts[0]!.privateKey }).write({
      ...token(),
      functionName: 'transfer',
      args: [sender.address, 1000n],
    })
    const to = chain.accounts[7]!.address
    const nonceBefore = await chain.publicClient.getTransactionCount({ address: sender.address })
    proxy.loseAnswers('eth_sendRawTransaction', 1)
    await sender.write({ ...token(), functionName: 'transfer', args: [to, 10n] })
    expect(proxy.seen.filter((m) => m === 'eth_sendRawTransaction').length).toBeGreaterThanOrEqual(1)
    expect(await chain.publicClient.getTransactionCount({ address: sender.address })).toBe(nonceBefore + 1)
    expect(await balanceOf(to)).toBe(10n)
    // And it keeps working afterwards with the right nonce.
    await sender.write({ ...token(), functionName: 'transfer', args: [to, 5n] })
    expect(await balanceOf(to)).toBe(15n)
  })

  it('retries through an endpoint that refuses requests for a while', async () => {
    const viaProxy = await connect(proxy.url, { pollingInterval: 50 })
    const sender = new TxSender({ chain: viaProxy, account: chain.accounts[2]!.privateKey, retryDelayMs: 20 })
    await new TxSender({ chain, account: chain.accounts[0]!.privateKey }).write({
      ...token(),
      functionName: 'transfer',
      args: [sender.address, 100n],
    })
    proxy.refuse(6)
    await sender.write({ ...token(), functionName: 'transfer', args: [chain.accounts[8]!.address, 3n] })
    expect(await balanceOf(chain.accounts[8]!.address)).toBe(3n)
  })

  it('throws the decoded custom error of a revert and sends nothing', async () => {
    const sender = new TxSender({ chain, account: chain.accounts[3]!.privateKey })
    const nonce = await chain.publicClient.getTransactionCount({ address: sender.address })
    const error = await sender
      .write({ ...token(), functionName: 'transfer', args: [chain.accounts[4]!.address, 1n] })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ContractRevertError)
    expect((error as ContractRevertError).errorName).toBe('ERC20InsufficientBalance')
    expect((error as ContractRevertError).args).toEqual([sender.address, 0n, 1n])
    expect((error as ContractRevertError).code).toBe('CONTRACT_REVERTED')
    expect(await chain.publicClient.getTransactionCount({ address: sender.address })).toBe(nonce)
  })

  it('gives up with TransactionSendError when the endpoint stays down', async () => {
    const viaProxy = await connect(proxy.url, { pollingInterval: 50 })
    const sender = new TxSender({ chain: viaProxy, account: chain.accounts[2]!.privateKey, retryDelayMs: 5, attempts: 2 })
    proxy.refuse(1000)
    const error = await sender
      .write({ ...token(), functionName: 'transfer', args: [chain.accounts[8]!.address, 1n] })
      .catch((e: unknown) => e)
    proxy.refuse(0)
    expect(error).toBeInstanceOf(TransactionSendError)
    expect((error as TransactionSendError).code).toBe('TRANSACTION_NOT_SENT')
  })
})
