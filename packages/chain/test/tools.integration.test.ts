import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { verityTokenAbi } from '@verity/contracts'
import { Contract, JsonRpcProvider, Wallet } from 'ethers'
import { encodeFunctionData } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AddressBook, deployVerity, type EmbeddedChain, startEmbeddedChain, TxSender } from '../src/index.js'

const require = createRequire(import.meta.url)

/** The real cast binary shipped in @foundry-rs/cast's platform package (as anvil's, see anvil.ts). */
function castBinary(): string | undefined {
  const platforms: Record<string, string> = {
    'linux-x64': 'linux-amd64',
    'linux-arm64': 'linux-arm64',
    'darwin-x64': 'darwin-amd64',
    'darwin-arm64': 'darwin-arm64',
  }
  const platform = platforms[`${process.platform}-${process.arch}`]
  return platform && join(dirname(require.resolve(`@foundry-rs/cast-${platform}/package.json`)), 'bin', 'cast')
}

/** Runs cast asynchronously: the chain answers from this very process. */
const cast = (...args: string[]) =>
  new Promise<{ stdout: string; stderr: string }>((resolve) => {
    execFile(castBinary()!, args, { encoding: 'utf8', timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ stdout: stdout.trim(), stderr: (stderr || (error ? String(error) : '')).trim() }),
    )
  })

/** The tools people already use, against the embedded chain's JSON-RPC URL (what `verity chain start` and `verity devnet` serve). */
describe('cast and ethers v6 against the embedded chain', () => {
  let chain: EmbeddedChain
  let book: AddressBook
  beforeAll(async () => {
    chain = await startEmbeddedChain()
    book = await deployVerity({ chain, deployer: chain.accounts[0]!.privateKey })
  })
  afterAll(() => chain.close())

  it('cast call and cast estimate (which send both input and data)', async () => {
    const supply = await cast('call', book.contracts.token, 'totalSupply()(uint256)', '--rpc-url', chain.rpcUrl)
    expect(supply.stderr).toBe('')
    expect(supply.stdout).toMatch(/^1000000000 \[1e9\]$|^1000000000000000000000000000 \[1e27\]$/)
    const gas = await cast(
      'estimate',
      book.contracts.token,
      'transfer(address,uint256)',
      chain.accounts[1]!.address,
      '1',
      '--from',
      chain.accounts[0]!.address,
      '--rpc-url',
      chain.rpcUrl,
    )
    expect(gas.stderr).toBe('')
    expect(Number(gas.stdout)).toBeGreaterThan(21_000)
  })

  it('input and data that differ are refused, naming both', async () => {
    const input = encodeFunctionData({ abi: verityTokenAbi, functionName: 'totalSupply' })
    const answer = await fetch(chain.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'eth_call',
        params: [{ to: book.contracts.token, input, data: '0x' }, 'latest'],
      }),
    })
    expect(await answer.json()).toMatchObject({
      error: { code: -32602, message: expect.stringContaining('differ'), data: { input, data: '0x' } },
    })
  })

  it('ethers v6: the pending block, reads, and a new listener that hears only new events', async () => {
    const provider = new JsonRpcProvider(chain.rpcUrl, undefined, { staticNetwork: true, pollingInterval: 50 })
    try {
      const latest = await provider.getBlockNumber()
      const pending = await provider.getBlock('pending')
      expect(pending?.number).toBe(latest + 1)

      const wallet = new Wallet(chain.accounts[0]!.privateKey, provider)
      const token = new Contract(book.contracts.token, verityTokenAbi as never, wallet)
      const to = chain.accounts[2]!.address
      // An event already in the head block before the listener exists.
      await new TxSender({ chain, account: chain.accounts[0]!.privateKey }).write({
        address: book.contracts.token,
        abi: verityTokenAbi,
        functionName: 'transfer',
        args: [to, 1n],
      })
      const heard: bigint[] = []
      await token.on('Transfer', (_from: string, _to: string, value: bigint) => {
        heard.push(value)
      })
      await (await (token.transfer as (to: string, value: bigint) => Promise<{ wait(): Promise<unknown> }>)(to, 2n)).wait()
      await expect.poll(() => heard, { timeout: 5_000, interval: 50 }).toEqual([2n])
      expect(await (token.balanceOf as (a: string) => Promise<bigint>)(to)).toBe(3n)
    } finally {
      provider.destroy()
    }
  })
})
