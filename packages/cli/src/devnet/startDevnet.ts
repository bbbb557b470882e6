import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  type AdversaryFront,
  createCheatingNode,
  type DataWithholding,
  type Fault,
  falseChallenger,
  type LazyVerifierReport,
  type NodeAdversary,
  startAdversaryFront,
  startDataWithholder,
  startLazyVerifier,
} from '@verity/adversary'
import {
  type AddressBook,
  deployVerity,
  type EmbeddedChain,
  registerOperator,
  startEmbeddedChain,
  TxSender,
  writeAddressBook,
} from '@verity/chain'
import { Role, verityTokenAbi } from '@verity/contracts'
import { createIndexer, dashboardApi, type Indexer, readOnlyAudit, registeredArtifact } from '@verity/dashboard'
import {
  createHub,
  createInferenceNode,
  createVerifier,
  type InferenceNode,
  publishModel,
  serveApp,
  type Verifier,
  type VerifierOptions,
} from '@verity/node'
import { importOnnx, loadMnist, loadModel, type MnistSet, mnistImage } from '@verity/runtime'
import { createVerityClient, depositEscrow, type VerityClient } from '@verity/sdk'
import type { Hex } from 'viem'
import { generatePrivateKey } from 'viem/accounts'
import { demoData } from '../demoData.js'

const TOKEN = 10n ** 18n
/**
 * What each of the devnet's workload clients, and each decoy client its nodes fund, deposits: the
 * same for both, so a deposit's size does not tell a decoy client from a client (docs/protocol.md, "Decoys").
 */
const CLIENT_ESCROW = 10n * TOKEN
/** Native coin sent with it (gas for a deposit, and for a client's inclusion challenges). */
const CLIENT_GAS = 10n ** 17n
/** Tokens each keeps in its wallet beside its escrow (the bond of an inclusion challenge is 0.183 VRT). */
const CLIENT_WALLET = 2n * TOKEN

export type DevnetOptions = {
  /** Working directory: databases, address book, keys, the model artifact. Wiped at start. */
  dir: string
  /** The mnist-8 ONNX model (default: the repository's data/models/mnist-8.onnx). */
  onnx?: string
  /** The MNIST test set directory (default: the repository's data/datasets/mnist). */
  mnist?: string
  /** JSON-RPC port of the chain (0 = any free port). */
  port?: number
  /** Address the chain, hub, nodes, verifiers and dashboard listen on (default 127.0.0.1; 0.0.0.0 serves other machines). */
  host?: string
  nodes?: number
  verifiers?: number
  sampleRate?: number
  /**
   * Forced errors: decoys per batch in basis points of its leaves (default: the deployment default,
   * docs/economics.md). 0 turns them off — for tests that count receipts, challenges and slashes of
   * other mechanisms exactly.
   */
  decoyRateBps?: number
  /** Challenge window, seconds. */
  window?: number
  /** Time a node has to answer a data challenge, seconds (default: half the window, at least 1). */
  dataResponseTime?: number
  batchSize?: number
  batchAgeMs?: number
  /** Node 0 cheats this way: a cheating node from @verity/adversary (tests and demos only). */
  fault?: Fault
  /** Verifier 0 challenges this share of correct receipts (tests and demos only). */
  falseChallengeRate?: number
  /**
   * Something in front of node `index` (a proxy; an adversary wrapping the honest node): its `url`
   * is the node's public URL (registered, and where its batches are served); `attach` is called
   * with the node's own URL once it listens.
   */
  nodeFront?: (index: number) => Promise<{ url: string; attach(nodeUrl: string): void; close(): Promise<void> } | undefined>
  /** Node 0 is wrapped by this hostile front (tests and demos only; see @verity/adversary). */
  nodeAdversary?: Exclude<NodeAdversary, 'data-withholder'>
  /** Nodes 0, 1, … in order cheat and withhold the data of the cheats they predict will be sampled (tests and demos only). */
  dataWithholders?: DataWithholding[]
  /** A lazy verifier with its own key (the last account) attests every receipt without re-executing (tests and demos only). */
  lazyVerifier?: boolean
  /** Verifier settings beyond the defaults (pool size, retry backoff, fetch bounds). */
  verifier?: Pick<VerifierOptions, 'concurrency' | 'retry' | 'fetchLimits'>
  /** Port of the dashboard (0 = any free port). */
  dashboardPort?: number
  /** Client keys the workload is spread over (default 4): fresh keys, funded and depositing like decoy clients. */
  clients?: number
  /** Runs with the contracts deployed and the hub up, before mnist-8 is published (an adversary's front-run). */
  beforePublish?(ctx: { chain: EmbeddedChain; book: AddressBook; hubUrl: string; artifact: Uint8Array }): Promise<void>
  log?(line: string): void
}

export type Devnet = {
  chain: EmbeddedChain
  book: AddressBook
  hubUrl: string
  /** The dashboard API (`/api/summary`, `/api/inferences`, …) over the devnet's index. */
  dashboardUrl: string
  indexer: Indexer
  modelId: Hex
  nodes: { node: InferenceNode; url: string; faulty: boolean }[]
  verifiers: Verifier[]
  /** The hostile front wrapping node 0, when `nodeAdversary` or `dataWithholders` is set. */
  adversary: AdversaryFront | undefined
  /** The lazy verifier, when `lazyVerifier` is set: what it attested and lost, read from the chain. */
  lazyVerifier: { address: Hex; report(): Promise<LazyVerifierReport> } | undefined
  /** Each verifier's API (`/healthz`, `/metrics`, `/v1/checks`), as registered on-chain. */
  verifierUrls: string[]
  client: VerityClient
  /** Every workload client, `client` first (the others: fresh keys funded by the deployer, `CLIENT_ESCROW` each). */
  clients: VerityClient[]
  clientKeyFile: string
  mnist: MnistSet
  dir: string
  stop(): Promise<void>
}

/**
 * The whole network in one process: the embedded chain with the contracts, token balances and
 * stakes, the model hub with mnist-8 published, inference nodes and verifiers (each its own HTTP
 * server, SQLite database and key), and a funded client.
 */
export async function startDevnet(options: DevnetOptions): Promise<Devnet> {
  const log = options.log ?? (() => {})
  const nodeCount = options.nodes ?? 2
  const verifierCount = options.verifiers ?? 3
  const host = options.host ?? '127.0.0.1'
  rmSync(options.dir, { recursive: true, force: true })
  mkdirSync(join(options.dir, 'keys'), { recursive: true })
  const chain = await startEmbeddedChain({ ...(options.port === undefined ? {} : { port: options.port }), host, accounts: 14 })
  const closers: (() => Promise<void>)[] = [() => chain.close()]
  try {
    const [deployer, ...others] = chain.accounts
    if (others.length < nodeCount + verifierCount + 1)
      throw new Error(`the devnet has ${others.length} accounts for ${nodeCount} nodes, ${verifierCount} verifiers and a client`)
    if ((options.dataWithholders?.length ?? 0) > nodeCount)
      throw new Error(`${options.dataWithholders!.length} withholding nodes asked for, the devnet has ${nodeCount} nodes`)
    for (const [i, a] of chain.accounts.entries())
      writeFileSync(join(options.dir, 'keys', `${i}.key`), `${a.privateKey}\n`, { mode: 0o600 })
    const window = options.window ?? 30
    const book = await deployVerity({
      chain,
      deployer: deployer!.privateKey,
      // The derived defaults (docs/economics.md) with a demo's short windows: each overturned receipt
      // costs its node 5.7 VRT, so a node's 20,000 staked back about 3,500 receipts in open batches
      // (the contract refuses commits beyond), and every cheat can be slashed in full.
      params: {
        challengeWindow: window,
        maxDisputeDuration: 2 * window,
        unbondingDelay: 4 * window,
        escrowWithdrawalDelay: 4 * window,
        dataResponseTime: options.dataResponseTime ?? Math.max(1, Math.floor(window / 2)),
        ...(options.decoyRateBps !== undefined ? { decoyRateBps: options.decoyRateBps } : {}),
        // Verifiers told to re-execute a fixed share are assigned at least that share by the contract
        // (so they can attest what they check): the floor P at which each of the devnet's verifiers is
        // assigned a leaf with q = P / ((1 − P)·V) ≥ sampleRate.
        ...(options.sampleRate !== undefined ? { minSampleRateBps: floorForShare(options.sampleRate, verifierCount) } : {}),
      },
    })
    writeAddressBook(join(options.dir, 'addresses.json'), book)
    const funder = new TxSender({ chain, account: deployer!.privateKey })
    for (const account of others) {
      await funder.write({
        address: book.contracts.token,
        abi: verityTokenAbi,
        functionName: 'transfer',
        args: [account.address, 100_000n * TOKEN],
      })
    }

    // The workload's other clients: fresh keys, funded by the deployer and depositing their own escrow,
    // exactly as the nodes' decoy clients are (before the nodes start, so the deployer's nonces do not race theirs).
    const extraClients: VerityClient[] = []
    for (let i = 1; i < (options.clients ?? 4); i++) {
      const extra = createVerityClient({ chain, book, account: generatePrivateKey() })
      await funder.sendValue(extra.account.address, CLIENT_GAS)
      await funder.write({
        address: book.contracts.token,
        abi: verityTokenAbi,
        functionName: 'transfer',
        args: [extra.account.address, CLIENT_ESCROW + CLIENT_WALLET],
      })
      await depositEscrow(extra, { amount: CLIENT_ESCROW })
      extraClients.push(extra)
    }

    // The hub, with mnist-8 imported into the integer semantics and published.
    const hub = createHub({ dir: join(options.dir, 'hub') })
    const hubServer = await serveApp(hub.app, 0, host)
    closers.push(() => hubServer.close())
    const mnist = loadMnist(options.mnist ?? demoData.mnist)
    const artifact = importMnist(options.onnx ?? demoData.onnx, mnist, join(options.dir, '..', 'mnist-8.vrty'))
    await options.beforePublish?.({ chain, book, hubUrl: hubServer.url, artifact })
    const published = await publishModel({ chain, book, key: deployer!.privateKey, hubUrl: hubServer.url, artifact })
    log(`hub ${hubServer.url}: mnist-8 published as ${published.modelId}`)

    const nodes: Devnet['nodes'] = []
    let adversary: AdversaryFront | undefined
    for (let i = 0; i < nodeCount; i++) {
      const key = others[i]!.privateKey
      const withholding = options.dataWithholders?.[i]
      const faulty = withholding !== undefined || (i === 0 && options.fault !== undefined)
      const base = {
        chain,
        book,
        key,
        dbPath: join(options.dir, `node-${i}.sqlite`),
        hubUrl: hubServer.url,
        batch: { maxSize: options.batchSize ?? 32, maxAgeMs: options.batchAgeMs ?? 1000 },
        // Models run on the event loop here: a devnet's nodes serve a few requests a second, and on a
        // shared machine a worker thread per node only competes with the verifiers for the cores.
        runWorkers: 0,
        // A devnet run is short: channels are redeemed as soon as a voucher's batch is final.
        redeem: { minAmount: 0n, maxAgeMs: 0 },
        // Decoy clients funded by the account that funds the workload's clients, with the same escrow. Not
        // for a faulty node: its canaries would draw on its seeded cheats (and be cheated on), so the
        // workload's cheats would differ from run to run; its decoys are signed by derived keys.
        ...(faulty
          ? {}
          : { decoyClients: { funder: deployer!.privateKey, escrow: CLIENT_ESCROW, gas: CLIENT_GAS, walletTokens: CLIENT_WALLET } }),
        log: (line: string) => log(`node ${i}: ${line}`),
      }
      // A withholding node brings its own front (it answers 404 for what it withholds).
      const withholder =
        withholding === undefined
          ? undefined
          : await startDataWithholder(base, {
              ...(options.sampleRate === undefined ? {} : { sampleRate: options.sampleRate }),
              ...withholding,
            })
      if (withholder && i === 0) adversary = withholder.front
      else if (i === 0 && options.nodeAdversary) adversary = await startAdversaryFront(options.nodeAdversary)
      const front = withholder?.front ?? (i === 0 && adversary ? adversary : await options.nodeFront?.(i))
      if (front) closers.push(() => front.close())
      const nodeOptions = { ...(front ? { publicUrl: front.url } : {}), ...base }
      const node =
        withholder?.node ?? (options.fault && i === 0 ? createCheatingNode(nodeOptions, options.fault) : createInferenceNode(nodeOptions))
      const url = await node.start(0, host)
      closers.push(() => node.stop())
      front?.attach(node.localUrl())
      await register(chain, book, key, Role.inference, url, 20_000n * TOKEN)
      nodes.push({ node, url, faulty })
    }
    const verifiers: Verifier[] = []
    const verifierUrls: string[] = []
    for (let i = 0; i < verifierCount; i++) {
      const key = others[nodeCount + i]!.privateKey
      // Verifier 0 may be the false challenger of @verity/adversary: the honest verifier with replaced parts.
      const verifier = createVerifier(
        {
          chain,
          book,
          key,
          dbPath: join(options.dir, `verifier-${i}.sqlite`),
          hubUrl: hubServer.url,
          ...(options.sampleRate !== undefined ? { sampleRate: options.sampleRate } : {}),
          ...options.verifier,
          log: (line) => log(`verifier ${i}: ${line}`),
        },
        i === 0 && options.falseChallengeRate ? falseChallenger(options.falseChallengeRate) : {},
      )
      // Its API first: the registry records the URL the indexer follows; it checks only once registered.
      const server = await serveApp(verifier.app, 0, host)
      closers.push(() => server.close())
      await register(chain, book, key, Role.verifier, server.url, 500n * TOKEN)
      verifier.start()
      closers.push(() => verifier.stop())
      verifiers.push(verifier)
      verifierUrls.push(server.url)
    }
    // The lazy verifier registers before the workload (the verifiers' adaptive rate counts it like any other).
    let lazyVerifier: Devnet['lazyVerifier']
    if (options.lazyVerifier) {
      // Its own key: the last account, which no role (nodes, verifiers, client, money attacks) takes.
      if (chain.accounts.length - 1 <= nodeCount + verifierCount + 5)
        throw new Error(`the devnet has no account left for the lazy verifier with ${nodeCount} nodes and ${verifierCount} verifiers`)
      const lazy = await startLazyVerifier({
        chain,
        book,
        key: chain.accounts.at(-1)!.privateKey,
        log: (line) => log(line),
      })
      closers.push(() => lazy.stop())
      lazyVerifier = { address: chain.accounts.at(-1)!.address, report: () => lazy.report() }
    }
    // The dashboard's index of the whole network, and its API.
    const indexer = createIndexer({ chain, book, dbPath: join(options.dir, 'index.sqlite'), log: (line) => log(line) })
    indexer.start()
    closers.push(() => indexer.stop())
    const dashboard = await serveApp(
      dashboardApi(indexer.store, { audit: readOnlyAudit(chain, book), artifact: registeredArtifact(chain, book) }),
      options.dashboardPort ?? 0,
      host,
    )
    closers.push(() => dashboard.close())
    const clientIndex = nodeCount + verifierCount + 1
    const client = createVerityClient({ chain, book, account: chain.accounts[clientIndex]!.privateKey })
    await depositEscrow(client, { amount: 1000n * TOKEN })
    return {
      chain,
      book,
      hubUrl: hubServer.url,
      dashboardUrl: dashboard.url,
      indexer,
      modelId: published.modelId,
      nodes,
      verifiers,
      adversary,
      lazyVerifier,
      verifierUrls,
      client,
      clients: [client, ...extraClients],
      clientKeyFile: join(options.dir, 'keys', `${clientIndex}.key`),
      mnist,
      dir: options.dir,
      async stop() {
        for (const close of closers.reverse()) await close().catch(() => {})
      },
    }
  } catch (error) {
    for (const close of closers.reverse()) await close().catch(() => {})
    throw error
  }
}

async function register(chain: EmbeddedChain, book: AddressBook, key: Hex, role: number, endpoint: string, stake: bigint): Promise<void> {
  await registerOperator(new TxSender({ chain, account: key }), book, { role, endpoint, stake })
}

/**
 * mnist-8 in the integer semantics, calibrated on the last 500 test images; cached next to the
 * devnet directory, and the cache used only when it was imported from these very ONNX bytes.
 */
export function importMnist(onnxPath: string, mnist: MnistSet, cachePath: string): Uint8Array {
  const onnx = readFileSync(onnxPath)
  if (existsSync(cachePath)) {
    const cached = new Uint8Array(readFileSync(cachePath))
    try {
      if (loadModel(cached).model.source.sha256 === createHash('sha256').update(onnx).digest('hex')) return cached
    } catch {}
  }
  const calibration = Array.from({ length: 500 }, (_, i) => ({ Input3: mnistImage(mnist, mnist.count - 1 - i) }))
  const { artifact } = importOnnx(onnx, { calibration, fileName: 'mnist-8.onnx' })
  writeFileSync(cachePath, artifact)
  return artifact
}

/**
 * The sampling floor P (bps) at which Settlement assigns each of `verifiers` verifiers a leaf with
 * probability at least `share`: q = P / ((1 − P)·V) ≥ share ⇔ P ≥ share·V / (1 + share·V).
 */
export function floorForShare(share: number, verifiers: number): number {
  if (share >= 1 || verifiers <= 0) return share > 0 ? 10_000 : 0
  if (!(share > 0)) return 0
  const x = share * Math.max(1, verifiers)
  return Math.min(10_000, Math.ceil((10_000 * x) / (1 + x)))
}
