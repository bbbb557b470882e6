import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { connect, readAddressBook } from '@verity/chain'
import { nodeRegistryAbi, Role } from '@verity/contracts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runVerity, verityCommand } from './verityCommand.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

function verity(...args: string[]) {
  const [command, argv] = verityCommand(...args)
  const r = spawnSync(command, argv, { cwd: root, encoding: 'utf8' })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** The same, without blocking: for commands refused before they send anything, run side by side. */
const verityAsync = runVerity

describe('verity chain start / deploy / stake / unstake', () => {
  const dir = mkdtempSync(join(tmpdir(), 'verity-chain-'))
  const addresses = join(dir, 'addresses.json')
  const keys = join(dir, 'keys')
  let chainProcess: ChildProcess
  let rpcUrl: string

  beforeAll(async () => {
    const [command, argv] = verityCommand('chain', 'start', '--port', '0', '--json', '--addresses', addresses, '--keys', keys)
    chainProcess = spawn(command, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    const started = await new Promise<{ rpcUrl: string }>((resolve, reject) => {
      let out = ''
      let err = ''
      chainProcess.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString()
        const line = out.split('\n').find((l) => l.startsWith('{'))
        if (line) resolve(JSON.parse(line))
      })
      chainProcess.stderr!.on('data', (chunk: Buffer) => {
        err += chunk.toString()
      })
      chainProcess.once('exit', (code) => reject(new Error(`chain start exited with ${code}: ${err}`)))
    })
    rpcUrl = started.rpcUrl
  })
  afterAll(() => {
    if (chainProcess.exitCode === null) chainProcess.kill('SIGKILL')
  })

  const common = () => ['--rpc', rpcUrl, '--addresses', addresses, '--json']

  it('chain start serves the deployed contracts over JSON-RPC and writes the address book and key files', async () => {
    const book = readAddressBook(addresses)
    const chain = await connect(rpcUrl, { expectedChainId: book.chainId })
    expect(await chain.publicClient.getCode({ address: book.contracts.settlement })).toMatch(/^0x[0-9a-f]{100,}$/)
    expect(book.params.challengeWindow).toBe(60)
  })

  it('stake registers an operator with its endpoint, then adds stake; unstake starts unbonding', async () => {
    const first = verity(
      'stake',
      '--role',
      'inference',
      '--amount',
      '1000',
      '--endpoint',
      'http://127.0.0.1:7001',
      '--key',
      join(keys, '1.key'),
      ...common(),
    )
    expect(first.code, first.stderr).toBe(0)
    expect(JSON.parse(first.stdout)).toMatchObject({ role: 'inference', registered: true, staked: '1000', active: true })
    const more = verity('stake', '--role', 'inference', '--amount', '2.5', '--key', join(keys, '1.key'), ...common())
    expect(JSON.parse(more.stdout)).toMatchObject({ registered: false, staked: '1002.5' })

    const book = readAddressBook(addresses)
    const chain = await connect(rpcUrl)
    const read = (address: `0x${string}`) =>
      chain.publicClient.readContract({
        address: book.contracts.nodeRegistry,
        abi: nodeRegistryAbi,
        functionName: 'getOperator',
        args: [address, Role.inference],
      })
    const operator = JSON.parse(first.stdout).operator as `0x${string}`
    expect((await read(operator)).endpoint).toBe('http://127.0.0.1:7001')

    const unbond = verity('unstake', '--role', 'inference', '--amount', '1002.5', '--key', join(keys, '1.key'), ...common())
    expect(unbond.code, unbond.stderr).toBe(0)
    expect(JSON.parse(unbond.stdout)).toMatchObject({ staked: '0', unbonding: '1002.5' })
    const early = verity('unstake', '--role', 'inference', '--withdraw', '--key', join(keys, '1.key'), ...common())
    expect(early.code).toBe(1)
    expect(early.stderr).toContain('error CONTRACT_REVERTED: withdraw reverted with StillUnbonding(')
  })

  it('refuses bad stake requests with a typed error and changes nothing', async () => {
    // Only the below-minimum request reaches a transaction (which reverts): the four run side by side.
    const [noEndpoint, belowMinimum, badRole, badKey] = await Promise.all([
      verityAsync('stake', '--role', 'verifier', '--amount', '100', '--key', join(keys, '2.key'), ...common()),
      verityAsync('stake', '--role', 'verifier', '--amount', '10', '--endpoint', 'http://v', '--key', join(keys, '2.key'), ...common()),
      verityAsync('stake', '--role', 'miner', '--amount', '10', '--key', join(keys, '2.key'), ...common()),
      verityAsync('stake', '--role', 'verifier', '--amount', '100', '--endpoint', 'http://v', '--key', addresses, ...common()),
    ])
    expect(noEndpoint.code).toBe(1)
    expect(noEndpoint.stderr).toContain('is not registered as verifier yet: give its --endpoint')
    expect(belowMinimum.stderr).toContain('register reverted with BelowMinimumStake(2, 100000000000000000000, 10000000000000000000)')
    expect(badRole.stderr).toContain('error USAGE: --role must be inference or verifier')
    expect(badKey.stderr).toContain('error KEY_FILE_INVALID')
    const registered = verity(
      'stake',
      '--role',
      'verifier',
      '--amount',
      '100',
      '--endpoint',
      'http://v',
      '--key',
      join(keys, '2.key'),
      ...common(),
    )
    expect(JSON.parse(registered.stdout)).toMatchObject({ registered: true, staked: '100', active: true })
  })

  it('deploy puts a second contract set on the same endpoint and validates its parameters first', async () => {
    const out = join(dir, 'second.json')
    const [bad, badFloor] = await Promise.all([
      verityAsync(
        'deploy',
        '--rpc',
        rpcUrl,
        '--key',
        join(keys, '0.key'),
        '--out',
        out,
        '--window',
        '100',
        '--max-dispute',
        '100',
        '--unbonding',
        '150',
      ),
      verityAsync('deploy', '--rpc', rpcUrl, '--key', join(keys, '0.key'), '--out', out, '--min-sample-rate', '10001'),
    ])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain(
      'error INVALID_DEPLOYMENT_PARAMS: the unbonding delay must exceed the challenge window plus the longest dispute (100 + 100 = 200 s), found 150 s',
    )
    expect(badFloor.code).toBe(1)
    expect(badFloor.stderr).toContain(
      'error INVALID_DEPLOYMENT_PARAMS: the sampling-rate floor is in basis points, an integer from 0 to 10000, found 10001',
    )
    const good = verity(
      'deploy',
      '--rpc',
      rpcUrl,
      '--key',
      join(keys, '0.key'),
      '--out',
      out,
      '--window',
      '100',
      '--max-dispute',
      '100',
      '--unbonding',
      '201',
      '--json',
    )
    expect(good.code, good.stderr).toBe(0)
    const book = readAddressBook(out)
    expect(JSON.parse(good.stdout).contracts).toEqual(book.contracts)
    expect(book.contracts.settlement).not.toBe(readAddressBook(addresses).contracts.settlement)
    expect(book.params).toMatchObject({ challengeWindow: 100, maxDisputeDuration: 100, unbondingDelay: 201 })
  })

  it('chain start stops cleanly on Ctrl-C', async () => {
    const exit = new Promise<number | null>((resolve) => chainProcess.once('exit', (code) => resolve(code)))
    chainProcess.kill('SIGINT')
    expect(await exit).toBe(0)
  })
})
