import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ChainMismatchError,
  connect,
  DEV_MNEMONIC,
  devAccounts,
  type EmbeddedChain,
  RpcUnavailableError,
  startEmbeddedChain,
} from '../src/index.js'

const run = promisify(execFile)

describe('startEmbeddedChain', () => {
  let chain: EmbeddedChain
  beforeAll(async () => {
    chain = await startEmbeddedChain({ chainId: 31_337 })
  })
  afterAll(() => chain.close())

  it('holds the development accounts of the standard mnemonic, funded', async () => {
    expect(DEV_MNEMONIC.split(' ')).toHaveLength(12)
    expect(chain.accounts.map((a) => a.address)).toEqual(devAccounts(10).map((a) => a.address))
    expect(chain.accounts[0]!.address).toBe('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266')
    expect(await chain.publicClient.getBalance({ address: chain.accounts[9]!.address })).toBe(10_000n * 10n ** 18n)
  })

  it('serves JSON-RPC over HTTP to another process', async () => {
    const script = `
      const post = (method, params = []) => fetch(process.argv[1], { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 7, method, params }) }).then((r) => r.json())
      const chainId = await post('eth_chainId')
      const batch = await fetch(process.argv[1], { method: 'POST', body: JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber' }, { jsonrpc: '2.0', id: 2, method: 'net_version' }]) }).then((r) => r.json())
      const bad = await fetch(process.argv[1], { method: 'POST', body: 'not json' })
      console.log(JSON.stringify({ chainId, batch, badStatus: bad.status, badBody: await bad.json() }))`
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, chain.rpcUrl])
    const answer = JSON.parse(stdout)
    expect(answer.chainId).toEqual({ jsonrpc: '2.0', id: 7, result: '0x7a69' })
    expect(answer.batch.map((r: { id: number }) => r.id)).toEqual([1, 2])
    expect(answer.batch[1].result).toBe('31337')
    expect(answer.badStatus).toBe(400)
    expect(answer.badBody.error.code).toBe(-32700)
  })

  it('reports reverts like Ethereum clients do: code 3 and the revert bytes as data', async () => {
    // Runtime code: revert(0, 4) with 0xdeadbeef in memory.
    const runtime = '63deadbeef60e01b5f5260045ffd'
    const wallet = chain.walletClient(chain.accounts[0]!.privateKey)
    const hash = await wallet.sendTransaction({ data: `0x6d${runtime}5f52600e6012f3` })
    const { contractAddress } = await chain.publicClient.waitForTransactionReceipt({ hash })
    const answer = await fetch(chain.rpcUrl, {
      method: 'POST',
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_call', params: [{ to: contractAddress, data: '0x' }, 'latest'] }),
    }).then((r) => r.json() as Promise<{ error: { code: number; data: string } }>)
    expect(answer.error.code).toBe(3)
    expect(answer.error.data).toBe('0xdeadbeef')
  })

  it('connect() reaches it over HTTP and checks the chain id', async () => {
    const remote = await connect(chain.rpcUrl)
    expect(remote.chainId).toBe(31_337)
    expect(await remote.publicClient.getBlockNumber()).toBe(await chain.publicClient.getBlockNumber())
    await expect(connect(chain.rpcUrl, { expectedChainId: 1 })).rejects.toBeInstanceOf(ChainMismatchError)
  })

  it('reads the head fresh each time, also right after a block was mined (no cached block number)', async () => {
    for (const client of [chain, await connect(chain.rpcUrl, { pollingInterval: 60_000 })]) {
      const before = await client.publicClient.getBlockNumber()
      await chain.mine(1)
      expect(await client.publicClient.getBlockNumber()).toBe(before + 1n)
    }
  })

  it('connect() fails with RpcUnavailableError when nothing listens', async () => {
    const error = await connect('http://127.0.0.1:9', { timeout: 2000 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RpcUnavailableError)
    expect((error as RpcUnavailableError).code).toBe('RPC_UNAVAILABLE')
  })

  it('moves time forward and restores snapshots', async () => {
    const before = await chain.publicClient.getBlock()
    const id = await chain.snapshot()
    await chain.increaseTime(3600)
    const after = await chain.publicClient.getBlock()
    expect(after.timestamp - before.timestamp).toBeGreaterThanOrEqual(3600n)
    await chain.revert(id)
    expect((await chain.publicClient.getBlock()).number).toBe(before.number)
  })
})
