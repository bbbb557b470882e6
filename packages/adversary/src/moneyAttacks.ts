import { createServer, type Server } from 'node:http'
import {
  buildReceiptTree,
  eip712Types,
  hashReceipt,
  hashRequest,
  type InferenceRequest,
  nodeRegistryAbi,
  type Receipt,
  Role,
  receiptToWire,
  requestFromWire,
  requestToWire,
  settlementAbi,
  verityDomain,
  verityTokenAbi,
} from '@verity/contracts'
import { mnistImage, quantizeInputs, tensorBytes } from '@verity/runtime'
import { infer } from '@verity/sdk'
import {
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  type Hex,
  http,
  keccak256,
  toHex,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { AttackedNetwork } from './attackedNetwork.js'

/**
 * Attacks on the money rules (docs/protocol.md, "Money"), each run as a hostile party would: its own
 * key, plain viem against the devnet's JSON-RPC URL, raw HTTP. They sit outside the honest roles; the
 * devnet runs them after its workload (`verity devnet --adversary escrow-thief …`) and tests assert
 * their outcome: nothing stolen, no honest party slashed, nothing settled twice.
 */
export const MONEY_ATTACKS = ['escrow-thief', 'replayer', 'model-swapper', 'stake-exhauster'] as const
export type MoneyAttack = (typeof MONEY_ATTACKS)[number]

export type AttackReport = {
  strategy: MoneyAttack
  attacker: Address
  /** Each step tried, and what the chain or the network answered. */
  steps: { tried: string; outcome: string }[]
  /** Tokens moved from other parties to the attacker (escrow redeemed by it, stake of others). */
  stolen: bigint
  /** Stake taken from honest nodes and verifiers during the attack. */
  honestSlashed: bigint
  /** Stake taken from the attacker. */
  attackerSlashed: bigint
  /** Channels debited beyond the highest total their client signed for that node. */
  settledTwice: number
}

const TOKEN = 10n ** 18n

type Attacker = Awaited<ReturnType<typeof attackerOn>>

/** A hostile party with its own key: registered as an inference node with the minimum stake. */
async function attackerOn(net: AttackedNetwork, key: Hex, endpoint: string) {
  const account = privateKeyToAccount(key)
  const transport = http(net.chain.rpcUrl)
  const chain = {
    id: net.chain.chainId,
    name: 'devnet',
    nativeCurrency: { name: 'ETH', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [net.chain.rpcUrl] } },
  }
  const publicClient = createPublicClient({ chain, transport })
  const wallet = createWalletClient({ account, chain, transport })
  const settlement = net.book.contracts.settlement
  const domain = { chainId: net.chain.chainId, settlement }
  /** Sends a contract call as is; returns the revert's error name instead of throwing. */
  async function send(
    address: Address,
    abi: readonly unknown[],
    functionName: string,
    args: readonly unknown[],
  ): Promise<{ ok: true } | { ok: false; error: string }> {
    try {
      const { request } = await publicClient.simulateContract({ account, address, abi, functionName, args } as never)
      const hash = await wallet.writeContract(request as never)
      const receipt = await publicClient.waitForTransactionReceipt({ hash })
      return receipt.status === 'success' ? { ok: true } : { ok: false, error: 'reverted' }
    } catch (error) {
      const revert = error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : undefined
      return {
        ok: false,
        error: (revert as ContractFunctionRevertedError | undefined)?.data?.errorName ?? (error as Error).message.split('\n')[0]!,
      }
    }
  }
  const min = net.book.params.minInferenceStake
  await send(net.book.contracts.token, verityTokenAbi, 'approve', [net.book.contracts.nodeRegistry, 2n ** 255n])
  await send(net.book.contracts.token, verityTokenAbi, 'approve', [settlement, 2n ** 255n])
  const registered = await send(net.book.contracts.nodeRegistry, nodeRegistryAbi, 'register', [Role.inference, endpoint, min])
  if (!registered.ok) throw new Error(`the attacker could not register: ${registered.error}`)
  let sequence = 0
  return {
    account,
    address: account.address,
    publicClient,
    domain,
    send,
    settlement: (functionName: string, args: readonly unknown[]) => send(settlement, settlementAbi, functionName, args),
    nextSequence: () => ++sequence,
    async stake(who: Address): Promise<bigint> {
      const op = await publicClient.readContract({
        address: net.book.contracts.nodeRegistry,
        abi: nodeRegistryAbi,
        functionName: 'getOperator',
        args: [who, Role.inference],
      })
      return op.staked
    },
    async signRequest(request: InferenceRequest): Promise<Hex> {
      return account.signTypedData({ domain: verityDomain(domain), types: eip712Types, primaryType: 'InferenceRequest', message: request })
    },
  }
}

/** Waits until the chain's clock passes `timestamp` (the devnet mines a block per transaction: nudge it). */
async function chainPast(net: AttackedNetwork, timestamp: bigint): Promise<void> {
  for (;;) {
    const block = await net.chain.publicClient.getBlock({ blockTag: 'latest' })
    if (block.timestamp > timestamp) return
    await new Promise((r) => setTimeout(r, 500))
    await net.chain.mine()
  }
}

async function committedAt(net: AttackedNetwork, batchId: bigint): Promise<bigint> {
  const batch = await net.chain.publicClient.readContract({
    address: net.book.contracts.settlement,
    abi: settlementAbi,
    functionName: 'getBatch',
    args: [batchId],
  })
  return BigInt(batch.committedAt)
}

async function lastBatchId(net: AttackedNetwork): Promise<bigint> {
  return net.chain.publicClient.readContract({ address: net.book.contracts.settlement, abi: settlementAbi, functionName: 'batchCount' })
}

/** Escrow the attacker redeemed from other clients, and channels debited beyond what their client signed. */
async function ledger(net: AttackedNetwork, attacker: Address, fromBlock: bigint): Promise<{ stolen: bigint; settledTwice: number }> {
  const redeemed = await net.chain.publicClient.getContractEvents({
    address: net.book.contracts.settlement,
    abi: settlementAbi,
    eventName: 'Redeemed',
    fromBlock,
    strict: true,
  })
  const stolen = redeemed
    .filter((e) => e.args.node.toLowerCase() === attacker.toLowerCase() && e.args.client.toLowerCase() !== attacker.toLowerCase())
    .reduce((s, e) => s + e.args.debited, 0n)
  // Per channel, the debits never exceed the last total redeemed (each redemption debits only the increase).
  const perChannel = new Map<string, { debited: bigint; top: bigint }>()
  for (const e of redeemed) {
    const key = `${e.args.client}|${e.args.node}`
    const entry = perChannel.get(key) ?? { debited: 0n, top: 0n }
    entry.debited += e.args.debited + e.args.shortfall
    entry.top = e.args.channelTotal > entry.top ? e.args.channelTotal : entry.top
    perChannel.set(key, entry)
  }
  return { stolen, settledTwice: [...perChannel.values()].filter((c) => c.debited > c.top).length }
}

async function honestStakes(net: AttackedNetwork, attacker: Attacker): Promise<bigint> {
  let total = 0n
  for (const n of net.nodes) total += await attacker.stake(n.node.address)
  for (const v of net.verifiers) {
    const op = await net.chain.publicClient.readContract({
      address: net.book.contracts.nodeRegistry,
      abi: nodeRegistryAbi,
      functionName: 'getOperator',
      args: [v.address, Role.verifier],
    })
    total += op.staked
  }
  return total
}

/** A receipt the attacker makes up and signs as its own, answering `request` (signed by whoever). */
async function forgedReceipt(
  attacker: Attacker,
  request: InferenceRequest,
  client: Address,
  overrides: Partial<Receipt> = {},
): Promise<{ receipt: Receipt; signature: Hex }> {
  const receipt: Receipt = {
    requestHash: hashRequest(request, attacker.domain),
    modelId: request.modelId,
    inputHash: request.inputHash,
    outputHash: keccak256(toHex('made up')),
    node: attacker.address,
    client,
    fee: request.maxFee,
    issuedAt: BigInt(Math.floor(Date.now() / 1000)),
    mode: request.mode,
    ...overrides,
  }
  return { receipt, signature: await attacker.account.sign({ hash: hashReceipt(receipt, attacker.domain) }) }
}

/**
 * escrow-thief: commits a random root with a 50 VRT fee total against the devnet client, then tries
 * to be paid: with a voucher it signed itself, and with the client's real voucher taken from an honest
 * node's public channel endpoint.
 */
async function escrowThief(net: AttackedNetwork, attacker: Attacker, steps: AttackReport['steps']): Promise<void> {
  const random = keccak256(toHex(`random root ${Date.now()}`))
  const commit = await attacker.settlement('commitBatch', [
    random,
    1,
    50n * TOKEN,
    attacker.nextSequence(),
    'http://127.0.0.1:9/unreachable',
  ])
  steps.push({
    tried: 'commit a random root (unreachable data) with a 50 VRT fee total against a client that signed nothing',
    outcome: commit.ok ? 'committed: it moves no money' : `refused: ${commit.error}`,
  })
  // A voucher the attacker signs itself "for" the client: the contract takes the signer as the payer.
  const victim = net.client.account.address
  const own: InferenceRequest = {
    modelId: net.modelId,
    inputHash: keccak256(toHex('x')),
    node: attacker.address,
    mode: 1,
    maxFee: 50n * TOKEN,
    nonce: 1n,
    deadline: 2n ** 40n,
    channelTotal: 50n * TOKEN,
  }
  const { receipt } = await forgedReceipt(attacker, own, victim)
  const tree = buildReceiptTree([hashReceipt(receipt, attacker.domain)])
  const forged = await attacker.settlement('commitBatch', [
    tree.root,
    1,
    50n * TOKEN,
    attacker.nextSequence(),
    'http://127.0.0.1:9/unreachable',
  ])
  const batchId = await lastBatchId(net)
  steps.push({
    tried: 'commit a receipt naming the client, backed by a voucher the attacker signed',
    outcome: forged.ok ? 'committed' : `refused: ${forged.error}`,
  })
  await chainPast(net, (await committedAt(net, batchId)) + BigInt(net.book.params.challengeWindow))
  const finalized = await attacker.settlement('finalize', [batchId, []])
  steps.push({
    tried: 'finalize it after the window',
    outcome: finalized.ok ? 'finalized (pays nothing: no fees are held by batches)' : `refused: ${finalized.error}`,
  })
  const redeem = await attacker.settlement('redeem', [
    own,
    await attacker.signRequest(own),
    { outputHash: receipt.outputHash, fee: receipt.fee, issuedAt: receipt.issuedAt, batchId, index: 0, proof: tree.proof(0) },
  ])
  steps.push({
    tried: 'redeem 50 VRT with the self-signed voucher',
    outcome: redeem.ok ? 'the contract debited the signer — the attacker itself, not the client' : `refused: ${redeem.error}`,
  })
  // The client's real voucher, public on an honest node's channel endpoint.
  const channel = (await (await fetch(`${net.nodes[0]!.url}/v1/channels/${victim}`)).json()) as {
    voucher: { request: unknown; signature: Hex } | null
  }
  if (channel.voucher) {
    const real = requestFromWire(channel.voucher.request)
    const stolen = await attacker.settlement('redeem', [
      real,
      channel.voucher.signature,
      { outputHash: receipt.outputHash, fee: real.maxFee, issuedAt: 1n, batchId, index: 0, proof: tree.proof(0) },
    ])
    steps.push({
      tried: "redeem the client's real voucher (made out to an honest node)",
      outcome: stolen.ok ? 'REDEEMED' : `refused: ${stolen.error}`,
    })
  }
}

/** replayer: re-commits an honest node's settled batch with ten times its fees and tries to be paid for it. */
async function replayer(net: AttackedNetwork, attacker: Attacker, steps: AttackReport['steps']): Promise<void> {
  const commits = await net.chain.publicClient.getContractEvents({
    address: net.book.contracts.settlement,
    abi: settlementAbi,
    eventName: 'BatchCommitted',
    args: { node: net.nodes[0]!.node.address },
    fromBlock: net.book.deployedAtBlock,
    strict: true,
  })
  const honest = commits[0]
  if (!honest) {
    steps.push({ tried: 'find an honest batch to replay', outcome: 'none committed yet' })
    return
  }
  const data = (await (await fetch(honest.args.dataURI)).json()) as {
    receipts: { receipt: unknown; request: unknown; clientSignature: Hex }[]
  }
  const replay = await attacker.settlement('commitBatch', [
    honest.args.root,
    honest.args.count,
    honest.args.feeTotal * 10n,
    attacker.nextSequence(),
    honest.args.dataURI,
  ])
  const batchId = await lastBatchId(net)
  steps.push({
    tried: `re-commit honest batch ${honest.args.batchId} (${honest.args.count} receipts) with 10× its fees`,
    outcome: replay.ok ? `committed as batch ${batchId}` : `refused: ${replay.error}`,
  })
  // Verifiers see receipts naming another node and challenge their data; the attacker cannot answer.
  const tree = buildReceiptTree(data.receipts.map((r) => hashReceipt(receiptFromServed(r.receipt), attacker.domain)))
  const started = await net.chain.publicClient.getBlockNumber()
  // Until every receipt of the batch has a data challenge (each verifier checks every receipt's custody).
  const challenged = (await dataChallengesOf(net, batchId, started, honest.args.count)).map((e) => e.args.challengeId)
  steps.push({
    tried: 'wait for verifiers to check the replayed batch',
    outcome: `${challenged.length} data challenge(s) opened against it`,
  })
  const request = requestFromWire(data.receipts[0]!.request)
  const redeem = await attacker.settlement('redeem', [
    request,
    data.receipts[0]!.clientSignature,
    {
      outputHash: receiptFromServed(data.receipts[0]!.receipt).outputHash,
      fee: request.maxFee,
      issuedAt: receiptFromServed(data.receipts[0]!.receipt).issuedAt,
      batchId,
      index: 0,
      proof: tree.proof(0),
    },
  ])
  steps.push({
    tried: "redeem the honest client's voucher through the replayed batch",
    outcome: redeem.ok ? 'REDEEMED' : `refused: ${redeem.error}`,
  })
  for (const challengeId of challenged) {
    const challenge = await net.chain.publicClient.readContract({
      address: net.book.contracts.settlement,
      abi: settlementAbi,
      functionName: 'getChallenge',
      args: [challengeId],
    })
    await chainPast(net, BigInt(challenge.openedAt) + BigInt(net.book.params.dataResponseTime))
    await attacker.settlement('expireChallenge', [challengeId])
  }
  let overturned = 0
  for (let i = 0; i < honest.args.count; i++) {
    const isOverturned = await net.chain.publicClient.readContract({
      address: net.book.contracts.settlement,
      abi: settlementAbi,
      functionName: 'isOverturned',
      args: [batchId, i],
    })
    if (isOverturned) overturned++
  }
  steps.push({
    tried: "let the data challenges run out (the attacker cannot publish a binding for another node's receipts)",
    outcome: `${overturned} of ${honest.args.count} receipts overturned, attacker slashed for each`,
  })
}

/** The data challenges against a batch since block `since`, once `receipts` of its receipts have one (or after 30 s). */
async function dataChallengesOf(net: AttackedNetwork, batchId: bigint, since: bigint, receipts: number) {
  for (let i = 0; ; i++) {
    const opened = await net.chain.publicClient.getContractEvents({
      address: net.book.contracts.settlement,
      abi: settlementAbi,
      eventName: 'DataChallenged',
      args: { batchId },
      fromBlock: since - 5n,
      strict: true,
    })
    if (new Set(opened.map((e) => e.args.receiptIndex)).size >= receipts || i >= 120) return opened
    await new Promise((r) => setTimeout(r, 250))
  }
}

function receiptFromServed(value: unknown): Receipt {
  const r = value as Record<string, unknown>
  return { ...(r as unknown as Receipt), fee: BigInt(r.fee as string), issuedAt: BigInt(r.issuedAt as string) }
}

/**
 * model-swapper: serves the devnet client as an inference node but signs receipts naming another
 * model, commits them, and serves its batch with the client's signed request.
 */
async function modelSwapper(
  net: AttackedNetwork,
  attacker: Attacker,
  server: { url: string; state: SwapperState },
  steps: AttackReport['steps'],
): Promise<void> {
  const swapped = keccak256(toHex('model B'))
  server.state.swapTo = swapped
  try {
    await infer(net.client, { modelId: net.modelId, inputs: { Input3: mnistImage(net.mnist, 0) }, node: server.url })
    steps.push({ tried: 'answer the client with model B while it asked for model A', outcome: 'the SDK ACCEPTED it' })
  } catch (error) {
    steps.push({
      tried: 'answer the client with model B while it asked for model A',
      outcome: `the SDK refused it: ${(error as Error).name}`,
    })
  }
  const answered = server.state.answered[0]
  if (!answered) return
  const tree = buildReceiptTree([hashReceipt(answered.receipt, attacker.domain)])
  const root = tree.root
  server.state.batches.set(root.toLowerCase(), [answered])
  const commit = await attacker.settlement('commitBatch', [
    root,
    1,
    answered.receipt.fee,
    attacker.nextSequence(),
    `${server.url}/v1/batches/${root}`,
  ])
  const batchId = await lastBatchId(net)
  steps.push({ tried: 'commit the swapped receipt', outcome: commit.ok ? `committed as batch ${batchId}` : `refused: ${commit.error}` })
  const started = await net.chain.publicClient.getBlockNumber()
  const challengeId = (await dataChallengesOf(net, batchId, started, 1))[0]?.args.challengeId
  steps.push({
    tried: 'wait for verifiers',
    outcome: challengeId === undefined ? 'NOT challenged' : `data challenge ${challengeId} opened (the request names model A)`,
  })
  // The attacker tries to answer the data challenge with the client's real request: the binding fails.
  if (challengeId !== undefined) {
    const published = await attacker.settlement('publishData', [
      challengeId,
      answered.receipt,
      answered.request,
      answered.clientSignature,
      answered.inputs,
    ])
    steps.push({
      tried: "publish the client's request and input for the swapped receipt",
      outcome: published.ok ? 'ACCEPTED' : `refused: ${published.error}`,
    })
    // Every verifier may have challenged it: each challenge runs out; the first overturns the receipt.
    const all = await dataChallengesOf(net, batchId, started, 1)
    const outcomes: string[] = []
    for (const e of all) {
      const challenge = await net.chain.publicClient.readContract({
        address: net.book.contracts.settlement,
        abi: settlementAbi,
        functionName: 'getChallenge',
        args: [e.args.challengeId],
      })
      await chainPast(net, BigInt(challenge.openedAt) + BigInt(net.book.params.dataResponseTime))
      const expired = await attacker.settlement('expireChallenge', [e.args.challengeId])
      outcomes.push(expired.ok ? 'expired' : `refused: ${expired.error}`)
    }
    const overturned = await net.chain.publicClient.readContract({
      address: net.book.contracts.settlement,
      abi: settlementAbi,
      functionName: 'isOverturned',
      args: [batchId, 0],
    })
    steps.push({
      tried: 'let the data challenges run out',
      outcome: overturned ? 'receipt overturned: client refunded, attacker slashed' : `NOT overturned (${outcomes.join(', ')})`,
    })
  }
  // Paid anyway? Its voucher's receipt (model A) is not what it committed (model B).
  await chainPast(net, (await committedAt(net, batchId)) + BigInt(net.book.params.challengeWindow))
  const finalized = await attacker.settlement('finalize', [batchId, []])
  steps.push({ tried: 'finalize its batch', outcome: finalized.ok ? 'finalized' : `refused: ${finalized.error}` })
  const redeem = await attacker.settlement('redeem', [
    answered.request,
    answered.clientSignature,
    {
      outputHash: answered.receipt.outputHash,
      fee: answered.receipt.fee,
      issuedAt: answered.receipt.issuedAt,
      batchId,
      index: 0,
      proof: tree.proof(0),
    },
  ])
  steps.push({ tried: "redeem the client's voucher for the swapped receipt", outcome: redeem.ok ? 'REDEEMED' : `refused: ${redeem.error}` })
}

/** stake-exhauster: commits more receipts than its stake can slash in full. */
async function stakeExhauster(net: AttackedNetwork, attacker: Attacker, steps: AttackReport['steps']): Promise<void> {
  const stake = await attacker.stake(attacker.address)
  const capacity = Number(stake / net.book.params.slashAmount)
  const over = await attacker.settlement('commitBatch', [
    keccak256(toHex('over')),
    capacity + 1,
    0n,
    attacker.nextSequence(),
    'http://127.0.0.1:9/x',
  ])
  steps.push({
    tried: `commit ${capacity + 1} receipts on a stake that can slash ${capacity}`,
    outcome: over.ok ? 'COMMITTED' : `refused: ${over.error}`,
  })
  // Its sequence number was not used: commit up to the limit, then one more.
  const sequence = over.ok ? attacker.nextSequence() : attacker.nextSequence() - 1
  const full = await attacker.settlement('commitBatch', [keccak256(toHex('full')), capacity, 0n, sequence, 'http://127.0.0.1:9/x'])
  const more = await attacker.settlement('commitBatch', [keccak256(toHex('more')), 1, 0n, sequence + 1, 'http://127.0.0.1:9/x'])
  steps.push({
    tried: `commit ${capacity} receipts, then 1 more`,
    outcome: `${full.ok ? 'first committed' : `first refused: ${full.error}`}; ${more.ok ? 'second COMMITTED' : `second refused: ${more.error}`}`,
  })
}

type SwapperState = {
  swapTo?: Hex
  answered: { receipt: Receipt; signature: Hex; request: InferenceRequest; clientSignature: Hex; inputs: Hex[] }[]
  batches: Map<string, SwapperState['answered']>
}

/** The model-swapper's node: raw HTTP, answering `/v1/infer` with a receipt naming another model. */
async function swapperServer(
  net: AttackedNetwork,
  attacker: () => Attacker,
): Promise<{ url: string; state: SwapperState; server: Server }> {
  const state: SwapperState = { answered: [], batches: new Map() }
  const model = await net.client.model(net.modelId)
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString()
    })
    req.on('end', async () => {
      const reply = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end(JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v)))
      }
      const a = attacker()
      if (req.url === '/healthz') return reply(200, { node: a.address, price: (10n ** 15n).toString() })
      if (req.url?.startsWith('/v1/batches/')) {
        const entries = state.batches.get(req.url.slice('/v1/batches/'.length).toLowerCase()) ?? []
        return reply(200, {
          receipts: entries.map((e) => ({
            receipt: receiptToWire(e.receipt),
            signature: e.signature,
            request: requestToWire(e.request),
            clientSignature: e.clientSignature,
          })),
        })
      }
      if (req.url === '/v1/infer') {
        const parsed = JSON.parse(body) as { request: unknown; signature: Hex }
        const request = requestFromWire(parsed.request)
        const client = net.client.account.address
        const { receipt, signature } = await forgedReceipt(a, request, client, { modelId: state.swapTo ?? request.modelId })
        const inputs = quantizeInputs(model, { Input3: mnistImage(net.mnist, 0) })
        state.answered.push({
          receipt,
          signature,
          request,
          clientSignature: parsed.signature,
          inputs: inputs.map((t) => toHex(tensorBytes(t))),
        })
        return reply(200, { inferenceId: hashReceipt(receipt, a.domain), receipt: receiptToWire(receipt), signature, outputs: {} })
      }
      reply(404, { error: { code: 'NOT_FOUND' } })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, state, server }
}

/**
 * Runs one money attack against a running devnet with the key of an account no role uses, and
 * reports what was tried and what it achieved.
 */
export async function runMoneyAttack(net: AttackedNetwork, strategy: MoneyAttack, key: Hex): Promise<AttackReport> {
  const fromBlock = await net.chain.publicClient.getBlockNumber()
  let attacker: Attacker | undefined
  const swapper = strategy === 'model-swapper' ? await swapperServer(net, () => attacker!) : undefined
  attacker = await attackerOn(net, key, swapper?.url ?? 'http://127.0.0.1:9')
  const before = { honest: await honestStakes(net, attacker), own: await attacker.stake(attacker.address) }
  const steps: AttackReport['steps'] = []
  try {
    if (strategy === 'escrow-thief') await escrowThief(net, attacker, steps)
    else if (strategy === 'replayer') await replayer(net, attacker, steps)
    else if (strategy === 'model-swapper') await modelSwapper(net, attacker, swapper!, steps)
    else await stakeExhauster(net, attacker, steps)
  } finally {
    swapper?.server.close()
  }
  const { stolen, settledTwice } = await ledger(net, attacker.address, fromBlock)
  const honestAfter = await honestStakes(net, attacker)
  return {
    strategy,
    attacker: attacker.address,
    steps,
    stolen,
    honestSlashed: before.honest > honestAfter ? before.honest - honestAfter : 0n,
    attackerSlashed: before.own - (await attacker.stake(attacker.address)),
    settledTwice,
  }
}
