import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { connect, devAccounts, readAddressBook, TxSender } from '@verity/chain'
import { verityTokenAbi } from '@verity/contracts'
import { loadMnist } from '@verity/runtime'
import { createVerityClient, depositEscrow } from '@verity/sdk'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort, startAnvil } from '../../chain/test/anvil.js'
import { importMnist } from '../src/devnet/startDevnet.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const data = join(root, 'data')
const cliSource = join(root, 'packages', 'cli', 'src', 'cliEntry.ts')
const cli = (...args: string[]) => [process.execPath, ['--conditions=source', '--import', 'tsx', cliSource, ...args]] as const

function verity(...args: string[]) {
  const [cmd, argv] = cli(...args)
  const r = spawnSync(cmd, argv, { cwd: root, encoding: 'utf8' })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** Spawns a long-running role and resolves with its first JSON line. */
function role(children: ChildProcess[], ...args: string[]): Promise<Record<string, string>> {
  const [cmd, argv] = cli(...args)
  const child = spawn(cmd, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString()
      const line = out.split('\n').find((l) => l.startsWith('{'))
      if (line) resolve(JSON.parse(line))
    })
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString()
    })
    child.once('exit', (code) => reject(new Error(`verity ${args.join(' ')} exited with ${code}: ${err}`)))
  })
}

describe('the real-network shape: every role its own process, against anvil', () => {
  const children: ChildProcess[] = []
  let stopAnvil: (() => Promise<void>) | undefined
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
    await stopAnvil?.()
  })

  it('deploy, publish, stake, serve, verify and settle an inference with the CLI alone', async () => {
    const anvil = await startAnvil()
    stopAnvil = anvil.stop
    const dir = mkdtempSync(join(tmpdir(), 'verity-anvil-'))
    const keys = devAccounts(5).map((a, i) => {
      const file = join(dir, `${i}.key`)
      writeFileSync(file, `${a.privateKey}\n`)
      return { ...a, file }
    })
    const [deployer, nodeKey, verifierKey, clientKey] = keys as [(typeof keys)[0], (typeof keys)[0], (typeof keys)[0], (typeof keys)[0]]
    const book = join(dir, 'addresses.json')
    const deployed = verity(
      'deploy',
      '--rpc',
      anvil.rpcUrl,
      '--key',
      deployer.file,
      '--out',
      book,
      '--window',
      '4',
      '--max-dispute',
      '4',
      '--unbonding',
      '20',
    )
    expect(deployed.code, deployed.stderr).toBe(0)

    // Token balances for the operators and the client (the deployer holds the supply).
    const chain = await connect(anvil.rpcUrl, { pollingInterval: 100 })
    const addresses = readAddressBook(book)
    const funder = new TxSender({ chain, account: deployer.privateKey })
    for (const k of [nodeKey, verifierKey, clientKey]) {
      await funder.write({
        address: addresses.contracts.token,
        abi: verityTokenAbi,
        functionName: 'transfer',
        args: [k.address, 10_000n * 10n ** 18n],
      })
    }

    const hub = await role(children, 'node', 'hub', '--port', '0', '--dir', join(dir, 'hub'))
    const artifactFile = join(dir, 'mnist-8.vrty')
    mkdirSync(dirname(artifactFile), { recursive: true })
    writeFileSync(
      artifactFile,
      importMnist(join(data, 'models', 'mnist-8.onnx'), loadMnist(join(data, 'datasets', 'mnist')), join(dir, 'cache.vrty')),
    )
    const published = verity(
      'model',
      'publish',
      artifactFile,
      '--hub',
      hub.url!,
      '--rpc',
      anvil.rpcUrl,
      '--key',
      deployer.file,
      '--addresses',
      book,
      '--json',
    )
    expect(published.code, published.stderr).toBe(0)
    const modelId = JSON.parse(published.stdout).modelId as string

    const port = await freePort()
    const nodeUrl = `http://127.0.0.1:${port}`
    const verifierPort = await freePort()
    const verifierUrl = `http://127.0.0.1:${verifierPort}`
    const common = ['--rpc', anvil.rpcUrl, '--addresses', book]
    expect(verity('stake', '--role', 'inference', '--amount', '1000', '--endpoint', nodeUrl, '--key', nodeKey.file, ...common).code).toBe(0)
    expect(
      verity('stake', '--role', 'verifier', '--amount', '100', '--endpoint', verifierUrl, '--key', verifierKey.file, ...common).code,
    ).toBe(0)
    await role(
      children,
      'node',
      'inference',
      '--key',
      nodeKey.file,
      '--hub',
      hub.url!,
      '--port',
      String(port),
      '--db',
      join(dir, 'node.sqlite'),
      '--batch-age-ms',
      '300',
      ...common,
    )
    await role(
      children,
      'node',
      'verifier',
      '--key',
      verifierKey.file,
      '--hub',
      hub.url!,
      '--port',
      String(verifierPort),
      '--db',
      join(dir, 'verifier.sqlite'),
      '--sample-rate',
      '1',
      ...common,
    )
    const dashboard = await role(children, 'dashboard', '--port', String(await freePort()), '--db', join(dir, 'index.sqlite'), ...common)

    const client = createVerityClient({ chain, book: addresses, account: clientKey.privateKey })
    await depositEscrow(client, { amount: 10n ** 18n })
    const answer = verity(
      'infer',
      '--model',
      modelId,
      '--input',
      `mnist:${join(data, 'datasets', 'mnist')}#0`,
      '--key',
      clientKey.file,
      '--json',
      ...common,
    )
    expect(answer.code, answer.stderr).toBe(0)
    const lines = answer.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines[0].argmax).toBe(7)
    expect(lines.slice(1).map((l: { level: string }) => l.level)).toEqual(['EXECUTED', 'COMMITTED', 'ATTESTED', 'FINAL'])

    const status = verity('status', lines[0].inferenceId, '--json', ...common)
    expect(status.code, status.stderr).toBe(0)
    expect(JSON.parse(status.stdout)).toMatchObject({ level: 'FINAL', attestations: 1 })
    const audited = verity('audit', lines[0].inferenceId, ...common)
    expect(audited.stdout, audited.stderr).toContain('MATCH')

    // The dashboard, its own process against the same chain, indexed it from the chain and the operators' APIs.
    type Summary = { levels: Record<string, number>; compute: { inferenceRuns: number; verificationRuns: number } }
    const summary = async () => (await (await fetch(`${dashboard.url}/api/summary`)).json()) as Summary
    await expect.poll(async () => (await summary()).levels.FINAL, { timeout: 30_000, interval: 500 }).toBe(1)
    await expect
      .poll(async () => (await summary()).compute, { timeout: 30_000, interval: 500 })
      .toEqual(expect.objectContaining({ inferenceRuns: 1, verificationRuns: 1 }))
    const network = await (await fetch(`${dashboard.url}/metrics`)).text()
    expect(network).toMatch(/^verity_network_receipts\{level="FINAL"\} 1$/m)
    expect(await (await fetch(`${verifierUrl}/metrics`)).text()).toMatch(/^verity_verifier_compute_seconds_count 1$/m)
  })
})
