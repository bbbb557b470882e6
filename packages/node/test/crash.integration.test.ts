import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type AddressBook, deployVerity, type EmbeddedChain, startEmbeddedChain, TxSender, writeAddressBook } from '@verity/chain'
import { hashReceipt, nodeRegistryAbi, Role, receiptFromWire, settlementAbi, verityTokenAbi } from '@verity/contracts'
import { createHub, publishModel, serveApp } from '@verity/node'
import { loadMnist, type MnistSet, mnistImage } from '@verity/runtime'
import {
  createVerityClient,
  depositEscrow,
  getInference,
  type InferReturnType,
  infer,
  type VerityClient,
  verifyReceipt,
  waitForTrust,
} from '@verity/sdk'
import Database from 'better-sqlite3'
import type { Address, Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { importMnist } from '../../cli/src/devnet/startDevnet.js'
import { verityCommand } from '../../cli/test/verityCommand.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const data = join(root, 'data')
const TOKEN = 10n ** 18n
/**
 * Challenge window (s): long enough for a verifier killed and restarted three times to attest before
 * its batches settle. Each restart is a new `verity` process (~5 s to start under tsx on a loaded
 * 2-core machine; less from the build, see verityCommand) and each run attests one batch before it
 * is killed: at 20 s the first batches' windows sometimes closed before the fourth run reached them.
 */
const WINDOW = 30

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/**
 * A JSON-RPC endpoint in front of `target` that answers with a transaction's receipt `delayMs` late (all
 * else at once). A verifier using it learns that its attestation was mined only well after the test has
 * seen the event, so a kill at that moment lands between the transaction and the verifier's bookkeeping
 * — the window the test is about — every time, not by a race of a few milliseconds.
 */
async function slowReceipts(target: string, delayMs: number): Promise<{ url: string; close(): Promise<void> }> {
  const server = createHttpServer(async (req, res) => {
    try {
      const chunks: Buffer[] = []
      for await (const chunk of req) chunks.push(chunk as Buffer)
      const body = Buffer.concat(chunks).toString('utf8')
      const answer = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      const text = await answer.text()
      if (body.includes('"eth_getTransactionReceipt"') && text.includes('"result":{')) await sleep(delayMs)
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(text)
    } catch {
      res.destroy()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** A `verity` process: its first JSON line on stdout is its ready line; all its output is kept. */
type RoleProcess = { child: ChildProcess; ready: Promise<Record<string, unknown>>; output(): string; exited: Promise<unknown> }

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}

/**
 * Crash safety with real processes: `verity node inference` and `verity node verifier` are killed
 * with SIGKILL at the worst moments and restarted on the same database; nothing acknowledged is
 * lost and nothing is done twice on-chain.
 */
describe('crash safety: kill -9 of node and verifier processes', () => {
  const roles: RoleProcess[] = []
  /** Servers a test started (closed after the processes using them are gone). */
  const closers: (() => Promise<void>)[] = []
  let dir: string
  let chain: EmbeddedChain
  let book: AddressBook
  let bookFile: string
  let hubUrl: string
  let closeHub: (() => Promise<void>) | undefined
  let modelId: Hex
  let mnist: MnistSet
  let client: VerityClient
  const keyFiles: string[] = []
  const operators: { node1: Address; node2: Address; verifier: Address } = {} as never
  const ports = { node1: 0, node2: 0 }

  function start(...args: string[]): RoleProcess {
    const [command, argv] = verityCommand(...args)
    const child = spawn(command, argv, {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)))
    const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString()
        const line = out.split('\n').find((l) => l.startsWith('{'))
        if (line) resolve(JSON.parse(line))
      })
      child.stderr!.on('data', (chunk: Buffer) => {
        out += chunk.toString()
      })
      child.once('exit', (code, signal) =>
        reject(new Error(`verity ${args.slice(0, 2).join(' ')} exited (${signal ?? code}) before ready:\n${out}`)),
      )
    })
    ready.catch(() => {})
    const role = { child, ready, output: () => out, exited }
    roles.push(role)
    return role
  }

  async function kill9(role: RoleProcess): Promise<void> {
    role.child.kill('SIGKILL')
    expect(await role.exited).toBe('SIGKILL')
  }

  /** SIGTERM, and the process must stop cleanly (exit code 0) within 20 s. */
  async function stop(role: RoleProcess): Promise<void> {
    role.child.kill('SIGTERM')
    const code = await Promise.race([role.exited, sleep(20_000).then(() => 'still running')])
    if (code === 'still running') role.child.kill('SIGKILL')
    expect(code, role.output().slice(-2000)).toBe(0)
  }

  const inferenceNode = (key: string, port: number, db: string, batch: { size: number; ageMs: number }) =>
    start(
      'node',
      'inference',
      '--rpc',
      chain.rpcUrl,
      '--key',
      key,
      '--addresses',
      bookFile,
      '--hub',
      hubUrl,
      '--db',
      db,
      '--port',
      String(port),
      '--public-url',
      `http://127.0.0.1:${port}`,
      '--batch-size',
      String(batch.size),
      '--batch-age-ms',
      String(batch.ageMs),
    )

  const verifierOn = (db: string, rpcUrl: string) =>
    start(
      'node',
      'verifier',
      '--rpc',
      rpcUrl,
      '--key',
      keyFiles[3]!,
      '--addresses',
      bookFile,
      '--hub',
      hubUrl,
      '--db',
      db,
      '--sample-rate',
      '1',
    )

  const events = { abi: settlementAbi, strict: true } as const
  const committedBy = (node: Address) =>
    chain.publicClient.getContractEvents({
      ...events,
      address: book.contracts.settlement,
      eventName: 'BatchCommitted',
      args: { node },
      fromBlock: book.deployedAtBlock,
    })
  const attestedBy = (verifier: Address) =>
    chain.publicClient.getContractEvents({
      ...events,
      address: book.contracts.settlement,
      eventName: 'Attested',
      args: { verifier },
      fromBlock: book.deployedAtBlock,
    })

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verity-crash-'))
    chain = await startEmbeddedChain({ port: 0, accounts: 10 })
    const [deployer, ...accounts] = chain.accounts
    book = await deployVerity({
      chain,
      deployer: deployer!.privateKey,
      params: {
        challengeWindow: WINDOW,
        maxDisputeDuration: WINDOW,
        unbondingDelay: 2 * WINDOW + 1,
        escrowWithdrawalDelay: 2 * WINDOW + 1,
        dataResponseTime: Math.floor(WINDOW / 2),
        // Counts leaves exactly: no decoys (their rows are written in the batch's own transaction).
        decoyRateBps: 0,
        // The verifier runs at --sample-rate 1: every leaf is assigned to it, so it attests every batch.
        minSampleRateBps: 10_000,
      },
    })
    bookFile = join(dir, 'addresses.json')
    writeAddressBook(bookFile, book)
    const funder = new TxSender({ chain, account: deployer!.privateKey })
    for (const account of accounts.slice(0, 5)) {
      await funder.write({
        address: book.contracts.token,
        abi: verityTokenAbi,
        functionName: 'transfer',
        args: [account.address, 10_000n * TOKEN],
      })
    }
    for (const [i, account] of chain.accounts.entries()) {
      keyFiles[i] = join(dir, `${i}.key`)
      writeFileSync(keyFiles[i]!, `${account.privateKey}\n`, { mode: 0o600 })
    }

    const hub = createHub({ dir: join(dir, 'hub') })
    const hubServer = await serveApp(hub.app)
    closeHub = hubServer.close
    hubUrl = hubServer.url
    mnist = loadMnist(join(data, 'datasets', 'mnist'))
    const artifact = importMnist(join(data, 'models', 'mnist-8.onnx'), mnist, join(dir, 'mnist-8.vrty'))
    modelId = (await publishModel({ chain, book, key: deployer!.privateKey, hubUrl, artifact })).modelId

    // Accounts: 1 and 2 inference nodes, 3 a verifier, 4 the client.
    ports.node1 = await freePort()
    ports.node2 = await freePort()
    const register = async (index: number, role: number, endpoint: string, stake: bigint) => {
      const sender = new TxSender({ chain, account: chain.accounts[index]!.privateKey })
      await sender.write({
        address: book.contracts.token,
        abi: verityTokenAbi,
        functionName: 'approve',
        args: [book.contracts.nodeRegistry, stake],
      })
      await sender.write({
        address: book.contracts.nodeRegistry,
        abi: nodeRegistryAbi,
        functionName: 'register',
        args: [role, endpoint, stake],
      })
      return chain.accounts[index]!.address
    }
    operators.node1 = await register(1, Role.inference, `http://127.0.0.1:${ports.node1}`, 2000n * TOKEN)
    operators.node2 = await register(2, Role.inference, `http://127.0.0.1:${ports.node2}`, 2000n * TOKEN)
    operators.verifier = await register(3, Role.verifier, 'verifier', 500n * TOKEN)
    client = createVerityClient({ chain, book, account: chain.accounts[4]!.privateKey })
    await depositEscrow(client, { amount: 1000n * TOKEN })
  })

  afterAll(async () => {
    for (const role of roles) if (role.child.exitCode === null && role.child.signalCode === null) role.child.kill('SIGKILL')
    await Promise.all(roles.map((r) => r.exited))
    await Promise.all(closers.map((close) => close()))
    await closeHub?.()
    await chain?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('an inference node killed with acknowledged, uncommitted receipts (and again mid-commit) commits each exactly once after restart, and they reach FINAL', async () => {
    const url = `http://127.0.0.1:${ports.node1}`
    const db = join(dir, 'node1.sqlite')

    // 1. A node that never commits on its own: answers are acknowledged, stored, and only that.
    const first = inferenceNode(keyFiles[1]!, ports.node1, db, { size: 1000, ageMs: 600_000 })
    expect(await first.ready).toMatchObject({ role: 'inference', url, inferences: 0 })
    const answers: InferReturnType[] = []
    for (let i = 0; i < 10; i++) {
      answers.push(await infer(client, { modelId, inputs: { Input3: mnistImage(mnist, i) }, node: url }))
    }
    const ids = answers.map((a) => a.inferenceId)
    expect(new Set(ids).size).toBe(10)
    expect(answers.map((a) => a.receipt.node.toLowerCase())).toEqual(Array(10).fill(operators.node1.toLowerCase()))
    expect(await committedBy(operators.node1)).toEqual([])
    for (const id of ids) expect(((await (await fetch(`${url}/v1/inferences/${id}`)).json()) as { batch: unknown }).batch).toBeNull()
    await kill9(first)

    // 2. Restarted on the same database: everything acknowledged is still there and gets committed.
    //    It is killed again the moment its commit appears on-chain, before it can record it.
    const second = inferenceNode(keyFiles[1]!, ports.node1, db, { size: 1000, ageMs: 200 })
    expect(await second.ready).toMatchObject({ url, inferences: 10, unbatched: 10 })
    await until('the first BatchCommitted', async () => ((await committedBy(operators.node1)).length > 0 ? true : undefined), 30_000, 5)
    await kill9(second)
    const atKill = new Database(db, { readonly: true })
    const batchesAtKill = atKill.prepare('SELECT status, count FROM batches').all() as { status: string; count: number }[]
    atKill.close()
    expect(batchesAtKill).toHaveLength(1)
    expect(batchesAtKill[0]!.count).toBe(10)
    console.log(`node killed right after its commit was mined; its database then said the batch was ${batchesAtKill[0]!.status}`)

    // 3. Restarted again: the pending batch is found on-chain by its root, not sent twice; it settles.
    const third = inferenceNode(keyFiles[1]!, ports.node1, db, { size: 1000, ageMs: 200 })
    expect(await third.ready).toMatchObject({ url, inferences: 10, unbatched: 0 })
    // Its challenge window (WINDOW s, long for the verifier's sake below) is not what this test waits
    // for: the chain's clock moves past it, and the node finalizes on the chain's time.
    await chain.increaseTime(WINDOW + 1)
    for (const answer of answers) {
      const final = await waitForTrust(client, {
        inferenceId: answer.inferenceId,
        node: url,
        level: 'FINAL',
        timeoutMs: 60_000,
        pollIntervalMs: 250,
      })
      expect(final.level).toBe('FINAL')
      expect(final.timeline.map((e) => e.level)).toEqual(['EXECUTED', 'COMMITTED', 'FINAL'])
      expect(final.receipt).toEqual(answer.receipt)
      expect(
        await verifyReceipt(client, {
          receipt: final.receipt,
          signature: final.signature,
          inclusion: { batchId: final.batch!.batchId, index: final.batch!.index, proof: final.batch!.proof },
        }),
      ).toEqual({ signedByNode: true, nodeRegistered: true, nodeActive: true, included: true, problems: [] })
      const state = (await (await fetch(`${url}/v1/inferences/${answer.inferenceId}`)).json()) as { batch: { batchId: number } | null }
      expect(state.batch?.batchId).toBe(final.batch!.batchId)
    }

    // Exactly once: one commit of the ten receipts, holding exactly the acknowledged ones, settled once.
    const commits = await committedBy(operators.node1)
    expect(commits.map((c) => c.args.count)).toEqual([10])
    expect(commits.reduce((sum, c) => sum + c.args.count, 0)).toBe(answers.length)
    const served = (await (await fetch(`${url}/v1/batches/${commits[0]!.args.root}`)).json()) as { receipts: { receipt: unknown }[] }
    const domain = { chainId: chain.chainId, settlement: book.contracts.settlement }
    expect(served.receipts.map((r) => hashReceipt(receiptFromWire(r.receipt), domain)).sort()).toEqual([...ids].sort())
    const finalized = await chain.publicClient.getContractEvents({
      ...events,
      address: book.contracts.settlement,
      eventName: 'BatchFinalized',
      args: { node: operators.node1 },
      fromBlock: book.deployedAtBlock,
    })
    expect(finalized.map((f) => f.args.batchId)).toEqual([commits[0]!.args.batchId])
    expect(((await (await fetch(`${url}/healthz`)).json()) as Record<string, number>).finalizedBatches).toBe(1)
    const all = [first, second, third].map((r) => r.output()).join('\n')
    expect(all).not.toMatch(/reverted|INTERNAL/)
    await stop(third)
  }, 120_000)

  it('a verifier killed mid-batch resumes on its database without attesting anything twice', async () => {
    const url = `http://127.0.0.1:${ports.node2}`
    const db = join(dir, 'verifier.sqlite')
    const node = inferenceNode(keyFiles[2]!, ports.node2, join(dir, 'node2.sqlite'), { size: 3, ageMs: 200 })
    expect(await node.ready).toMatchObject({ url })
    // The verifier sees its receipts a second late: each kill below lands before its bookkeeping.
    const rpc = await slowReceipts(chain.rpcUrl, 1000)
    closers.push(rpc.close)
    const verifierProcess = (db: string) => verifierOn(db, rpc.url)
    const runs: RoleProcess[] = [verifierProcess(db)]
    expect(await runs[0]!.ready).toMatchObject({ role: 'verifier', address: operators.verifier })

    // Traffic in the background: small batches keep coming while the verifier is killed and restarted.
    const answers: InferReturnType[] = []
    const traffic = (async () => {
      for (let i = 100; i < 130; i++) {
        answers.push(await infer(client, { modelId, inputs: { Input3: mnistImage(mnist, i) }, node: url }))
        await sleep(150)
      }
    })()

    // Three times: kill -9 the verifier the moment a new attestation of it is mined, then restart it.
    let landedBeforeBookkeeping = 0
    for (let kill = 0; kill < 3; kill++) {
      const seen = (await attestedBy(operators.verifier)).length
      const attested = await until(
        'a new attestation',
        async () => {
          const logs = await attestedBy(operators.verifier)
          return logs.length > seen ? logs[logs.length - 1]! : undefined
        },
        30_000,
        5,
      )
      await kill9(runs[runs.length - 1]!)
      const store = new Database(db, { readonly: true })
      const row = store.prepare('SELECT state FROM batches WHERE batch_id = ?').get(Number(attested.args.batchId)) as
        | { state: string }
        | undefined
      store.close()
      if (row?.state !== 'done') landedBeforeBookkeeping++
      const run = verifierProcess(db)
      runs.push(run)
      await run.ready
    }
    await traffic

    // Every batch of this node ends up attested by the verifier exactly once.
    const batches = await until(
      'every batch attested',
      async () => {
        const commits = await committedBy(operators.node2)
        if (commits.reduce((sum, c) => sum + c.args.count, 0) < answers.length) return undefined
        const attested = new Set((await attestedBy(operators.verifier)).map((a) => a.args.batchId))
        return commits.every((c) => attested.has(c.args.batchId)) ? commits : undefined
      },
      60_000,
      100,
    )
    expect(batches.length).toBeGreaterThanOrEqual(4)
    const perBatch = new Map<bigint, number>()
    for (const a of await attestedBy(operators.verifier)) perBatch.set(a.args.batchId, (perBatch.get(a.args.batchId) ?? 0) + 1)
    for (const batch of batches)
      expect({ batchId: batch.args.batchId, attestations: perBatch.get(batch.args.batchId) }).toEqual({
        batchId: batch.args.batchId,
        attestations: 1,
      })
    expect([...perBatch.values()].every((n) => n === 1)).toBe(true)

    // Each attestation covers every receipt of its batch (sample rate 1), and the SDK sees it.
    for (const a of await attestedBy(operators.verifier)) {
      const batch = batches.find((b) => b.args.batchId === a.args.batchId)
      if (batch) expect(a.args.receipts).toBe(batch.args.count)
    }
    const state = await getInference(client, { inferenceId: answers[answers.length - 1]!.inferenceId, node: url })
    expect(state.attestations).toBe(1)

    // Every kill landed in the window that matters (mined, not yet recorded: the receipts a second late
    // make it so), and no run ever tried to attest again.
    expect(landedBeforeBookkeeping).toBe(3)
    const logs = runs.map((r) => r.output()).join('\n')
    expect(logs).not.toContain('AlreadyAttested')
    expect(logs).not.toMatch(/reverted/)

    await stop(runs[runs.length - 1]!)
    const store = new Database(db, { readonly: true })
    const rows = store.prepare('SELECT batch_id AS batchId, state FROM batches').all() as { batchId: number; state: string }[]
    store.close()
    for (const batch of batches) expect(rows.find((r) => r.batchId === Number(batch.args.batchId))?.state).toBe('done')
    await stop(node)
  }, 120_000)
})
