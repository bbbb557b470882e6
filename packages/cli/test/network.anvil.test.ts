import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { connect, DEFAULT_MAX_BLOCK_RANGE, devAccounts, readAddressBook, TxSender } from '@verity/chain'
import { verityTokenAbi } from '@verity/contracts'
import { loadMnist } from '@verity/runtime'
import { createVerityClient, depositEscrow } from '@verity/sdk'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort, startAnvil } from '../../chain/test/anvil.js'
import { type RangeLimitProxy, startRangeLimitProxy } from '../../chain/test/rangeLimitProxy.js'
import { importMnist } from '../src/devnet/startDevnet.js'
import { runVerity, verityCommand } from './verityCommand.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const data = join(root, 'data')
const cli = verityCommand
/** The provider's eth_getLogs range limit: the default range of every scan (`DEFAULT_MAX_BLOCK_RANGE`). */
const LOG_LIMIT = Number(DEFAULT_MAX_BLOCK_RANGE)

/** Runs one command to its end, without blocking this process (the range-limiting proxy answers from it). */
const verity = runVerity

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
  let proxy: RangeLimitProxy | undefined
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
    await proxy?.close()
    await stopAnvil?.()
  })

  it('deploy, publish, stake, serve, verify and settle an inference with the CLI alone', { timeout: 240_000 }, async () => {
    // A node that keeps the last 128 states, as a full (not archive) node does: no mined block's
    // state is written to disk (by default anvil persists each one, most of this test's time).
    const anvil = await startAnvil(['--prune-history', '128'])
    stopAnvil = anvil.stop
    const dir = mkdtempSync(join(tmpdir(), 'verity-anvil-'))
    const keys = devAccounts(5).map((a, i) => {
      const file = join(dir, `${i}.key`)
      writeFileSync(file, `${a.privateKey}\n`)
      return { ...a, file }
    })
    const [deployer, nodeKey, verifierKey, clientKey] = keys as [(typeof keys)[0], (typeof keys)[0], (typeof keys)[0], (typeof keys)[0]]
    const book = join(dir, 'addresses.json')
    const deployed = await verity(
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
      // Every leaf assigned to the one verifier, so the receipt is attested (at the adaptive rate a new
      // node's batch of two leaves is assigned to it with probability ≈ 8 %).
      '--min-sample-rate',
      '10000',
    )
    expect(deployed.code, deployed.stderr).toBe(0)

    // A long-lived chain behind a provider that refuses eth_getLogs over LOG_LIMIT (2,000) blocks, the
    // widest range Verity asks for by default (so an off-by-one in its ranges would be refused):
    // LOG_LIMIT + 100 blocks since the deployment, and every role, command and client below talks to
    // the chain through it.
    const mined = await fetch(anvil.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'anvil_mine', params: [`0x${(LOG_LIMIT + 100).toString(16)}`] }),
    })
    expect(((await mined.json()) as { error?: unknown }).error).toBeUndefined()
    proxy = await startRangeLimitProxy(anvil.rpcUrl, LOG_LIMIT)
    const rpc = proxy.url

    // Token balances for the operators and the client (the deployer holds the supply).
    const chain = await connect(rpc, { pollingInterval: 100 })
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

    // The hub process starts while this one imports the model.
    const hubStarted = role(children, 'node', 'hub', '--port', '0', '--dir', join(dir, 'hub'))
    const artifactFile = join(dir, 'mnist-8.vrty')
    mkdirSync(dirname(artifactFile), { recursive: true })
    writeFileSync(
      artifactFile,
      importMnist(join(data, 'models', 'mnist-8.onnx'), loadMnist(join(data, 'datasets', 'mnist')), join(dir, 'cache.vrty')),
    )
    const hub = await hubStarted
    const published = await verity(
      'model',
      'publish',
      artifactFile,
      '--hub',
      hub.url!,
      '--rpc',
      rpc,
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
    const dashboardPort = await freePort()
    const common = ['--rpc', rpc, '--addresses', book]
    // Independent processes (own keys, own ports) start together, as operators would.
    const staked = await Promise.all([
      verity('stake', '--role', 'inference', '--amount', '1100', '--endpoint', nodeUrl, '--key', nodeKey.file, ...common),
      verity('stake', '--role', 'verifier', '--amount', '100', '--endpoint', verifierUrl, '--key', verifierKey.file, ...common),
    ])
    for (const r of staked) expect(r.code, r.stderr).toBe(0)
    const inferenceRole = role(
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
    const verifierRole = role(
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
    const [, , dashboard] = await Promise.all([
      inferenceRole,
      verifierRole,
      role(children, 'dashboard', '--port', String(dashboardPort), '--db', join(dir, 'index.sqlite'), ...common),
    ])

    const client = createVerityClient({ chain, book: addresses, account: clientKey.privateKey })
    await depositEscrow(client, { amount: 10n ** 18n })
    const answer = await verity(
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

    const [status, audited] = await Promise.all([
      verity('status', lines[0].inferenceId, '--json', ...common),
      verity('audit', lines[0].inferenceId, ...common),
    ])
    expect(status.code, status.stderr).toBe(0)
    expect(JSON.parse(status.stdout)).toMatchObject({ level: 'FINAL', attestations: 1 })
    expect(audited.stdout, audited.stderr).toContain('MATCH')
    // The verifier's attestation carries the right execution tag: it ran the model (its own process).
    expect(audited.stdout).toMatch(/attested by 0x[0-9a-fA-F]{40}: tag right/)

    // The dashboard, its own process against the same chain, indexed it from the chain and the operators' APIs.
    type Summary = { levels: Record<string, number>; compute: { inferenceRuns: number; verificationRuns: number } }
    const summary = async () => (await (await fetch(`${dashboard.url}/api/summary`)).json()) as Summary
    await expect.poll(async () => (await summary()).levels.FINAL, { timeout: 30_000, interval: 500 }).toBe(1)
    await expect
      .poll(async () => (await summary()).compute, { timeout: 30_000, interval: 500 })
      // The batch holds the answer and one decoy (forced error): both look like receipts, both were re-executed.
      .toEqual(expect.objectContaining({ inferenceRuns: 2, verificationRuns: 2 }))
    const network = await (await fetch(`${dashboard.url}/metrics`)).text()
    expect(network).toMatch(/^verity_network_receipts\{level="FINAL"\} 1$/m)
    expect(await (await fetch(`${verifierUrl}/metrics`)).text()).toMatch(/^verity_verifier_compute_seconds_count 2$/m)

    // Every scan stayed within the provider's limit, and the limit is real: a scan from the deployment refused.
    expect(proxy.refused).toBe(0)
    expect(proxy.widest).toBeGreaterThan(1000)
    expect(proxy.widest).toBeLessThanOrEqual(LOG_LIMIT)
    const wide = await chain.publicClient
      .getLogs({ address: addresses.contracts.settlement, fromBlock: addresses.deployedAtBlock, toBlock: 'latest' })
      .catch((error: Error) => error)
    expect(String(wide)).toContain(`max block range ${LOG_LIMIT}`)
  })
})
