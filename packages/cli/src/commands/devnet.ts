import { join } from 'node:path'
import {
  type AttackReport,
  createModelSquatter,
  type Fault,
  type ModelSquatterReport,
  type MoneyAttack,
  type NodeAdversary,
  runMoneyAttack,
} from '@verity/adversary'
import { scanLogs } from '@verity/chain'
import { disputeGameAbi, GameReason, nodeRegistryAbi, Role, settlementAbi } from '@verity/contracts'
import { type Summary, summaryOf } from '@verity/dashboard'
import { fetchJson, type Receipt, type TrustLevel, type VerificationMode } from '@verity/protocol'
import { mnistImage, quantizeInputs, runQuantized } from '@verity/runtime'
import { getInference, infer } from '@verity/sdk'
import { formatUnits } from 'viem'
import { type Devnet, startDevnet } from '../devnet/startDevnet.js'
import { createTrustTracker } from '../devnet/trustTracker.js'
import {
  claimInclusionRefunds,
  type LazyVerifierOutcome,
  lazyVerifierOutcome,
  type WithholderOutcome,
  withholderOutcome,
} from '../devnet/withholderOutcome.js'

export type DevnetCommandOptions = {
  /** Address every server listens on (127.0.0.1; 0.0.0.0 serves other machines). */
  host?: string
  /** The mnist-8 ONNX model. */
  onnx: string
  /** The MNIST test set directory (the workload's digits). */
  mnist: string
  dir: string
  port: number
  /** Port of the trust dashboard (0 = any free port). */
  dashboardPort?: number
  requests: number
  mode: VerificationMode
  sampleRate?: number
  window: number
  /** Time a node has to answer a data challenge, seconds (default: half the window). */
  dataResponse?: number
  nodes: number
  verifiers: number
  batchSize: number
  concurrency: number
  fault?: Fault
  /** Verifier 0 challenges this share of correct receipts (an adversary; tests and demos only). */
  falseChallengeRate?: number
  /** Attacks on the money rules, run after the workload by a hostile party with its own key. */
  moneyAttacks?: MoneyAttack[]
  /** An adversary outside the roles: `model-squatter` registers the demo model's artifact with wrong roots before its publisher does. */
  adversary?: 'model-squatter'
  /** Node 0 wrapped by a hostile front: `tarpit` or `receipt-forger` (tests and demos only). */
  nodeAdversary?: Exclude<NodeAdversary, 'data-withholder'>
  /**
   * Nodes 0, 1, … in order: each answers wrong outputs at its rate and withholds the data of the
   * cheats it predicts will be sampled (`data-withholder:<rate>`); with `publishOnChallenge` it
   * publishes them on-chain at the last moment once challenged (`late-publisher:<rate>`); with
   * `wholeBatch` it withholds every batch and proof (`batch-withholder:<rate>`). Tests and demos only.
   */
  dataWithholders?: { rate: number; publishOnChallenge?: boolean; wholeBatch?: boolean }[]
  /** A lazy verifier with its own key attests every receipt without re-executing (tests and demos only). */
  lazyVerifier?: boolean
  /** Stop once the workload has settled instead of serving until Ctrl-C. */
  exit: boolean
  json: boolean
  verbose: boolean
}

export type Tracked = {
  i: number
  /** The output hash the node signed (a cheat's differs from an honest run's). */
  outputHash: `0x${string}`
  mode: number
  label: number
  answer: number
  inferenceId: `0x${string}`
  node: string
  faultyNode: boolean
  /** The answer's raw output and the receipt's fee: what tells a cheat from an honest answer, and what it earned. */
  raw: number[]
  fee: bigint
  executedAt: number
  latencyMs: number
  reached: Partial<Record<TrustLevel, number>>
  level: TrustLevel
  position?: { batchId: number; index: number }
  /** The node-signed receipt the client holds (what it can claim a refund with). */
  receipt: Receipt
  signature: `0x${string}`
}

const LEVELS: TrustLevel[] = ['EXECUTED', 'COMMITTED', 'ATTESTED', 'DISPUTED', 'FINAL', 'OVERTURNED']

/** `verity devnet` (and `npm start`): the whole network in one process, a real MNIST workload, its trust timelines and a summary. */
export async function devnet(options: DevnetCommandOptions): Promise<DevnetSummary> {
  const out = (line: string) => {
    if (!options.json) console.log(line)
  }
  const t0 = Date.now()
  const squatter = options.adversary === 'model-squatter' ? createModelSquatter() : undefined
  const net = await startDevnet({
    ...(squatter ? { beforePublish: squatter.squat } : {}),
    dir: options.dir,
    ...(options.host === undefined ? {} : { host: options.host }),
    onnx: options.onnx,
    mnist: options.mnist,
    port: options.port,
    ...(options.dashboardPort === undefined ? {} : { dashboardPort: options.dashboardPort }),
    nodes: options.nodes,
    verifiers: options.verifiers,
    ...(options.sampleRate === undefined ? {} : { sampleRate: options.sampleRate }),
    window: options.window,
    ...(options.dataResponse === undefined ? {} : { dataResponseTime: options.dataResponse }),
    batchSize: options.batchSize,
    batchAgeMs: 1000,
    ...(options.fault ? { fault: options.fault } : {}),
    ...(options.falseChallengeRate ? { falseChallengeRate: options.falseChallengeRate } : {}),
    ...(options.nodeAdversary ? { nodeAdversary: options.nodeAdversary } : {}),
    ...(options.dataWithholders ? { dataWithholders: options.dataWithholders } : {}),
    ...(options.lazyVerifier ? { lazyVerifier: true } : {}),
    log: (line) => {
      if (options.verbose) out(`  · ${line}`)
    },
  })
  await squatter?.started(net)
  out('Verity devnet')
  out(`  chain       ${net.chain.rpcUrl} (chain id ${net.chain.chainId}), address book ${join(net.dir, 'addresses.json')}`)
  out(`  hub         ${net.hubUrl}   mnist-8 = ${net.modelId}`)
  out(`  dashboard   ${net.dashboardUrl}/ (the trust dashboard; its API under /api/, Prometheus at /metrics)`)
  for (const [k, n] of net.nodes.entries())
    out(
      `  node ${k}      ${n.url} (${n.node.address})${n.faulty ? `  FAULTY: ${options.fault ? `${options.fault.kind} ${options.fault.rate}` : `${options.dataWithholders![k]!.publishOnChallenge ? 'late publisher' : options.dataWithholders![k]!.wholeBatch ? 'batch withholder' : 'data withholder'} ${options.dataWithholders![k]!.rate}`} (tests and demos only)` : ''}`,
    )
  for (const [k, v] of net.verifiers.entries()) out(`  verifier ${k}  ${net.verifierUrls[k]} (${v.address})`)
  out(
    `  sampling    ${options.sampleRate === undefined ? 'adaptive per node (new nodes 4 %, then down to 0.4 %; docs/economics.md), spread over the verifiers' : `each verifier re-executes ${options.sampleRate} of optimistic receipts`}; decoys ${net.book.params.decoyRateBps / 100} % of each batch; /metrics on every role`,
  )
  if (options.falseChallengeRate)
    out(
      `              verifier 0 is a FALSE CHALLENGER: it challenges ${options.falseChallengeRate} of correct receipts (tests and demos only)`,
    )
  for (const [k, w] of (options.dataWithholders ?? []).entries())
    out(
      w.wholeBatch
        ? `              node ${k} is a BATCH WITHHOLDER: wrong outputs at ${w.rate}, every batch and proof withheld (404), the cheats' data challenges left unanswered (tests and demos only)`
        : `              node ${k} is a DATA WITHHOLDER: wrong outputs at ${w.rate}, the inputs of those it predicts sampled withheld${w.publishOnChallenge ? ', published on-chain at the last moment once challenged' : ' and their data challenges left unanswered'} (tests and demos only)`,
    )
  if (net.lazyVerifier)
    out(`              a LAZY VERIFIER (${net.lazyVerifier.address}) attests every receipt without re-executing (tests and demos only)`)
  if (squatter) out('              a MODEL SQUATTER registered mnist-8 with a wrong graphRoot and a wrong weightsRoot before its publisher')
  out(`  window      ${options.window} s, batches of up to ${options.batchSize} receipts or 1 s`)
  out(`\nWorkload: ${options.requests} MNIST test digits, mode ${options.mode}`)

  const workloadStart = await net.chain.publicClient.getBlockNumber()
  const tracker = createTrustTracker({ chain: net.chain, book: net.book, fromBlock: workloadStart + 1n })
  const tracked: Tracked[] = []
  let next = 0
  const worker = async () => {
    while (next < options.requests) {
      const i = next++
      const nodeIndex = i % net.nodes.length
      // Real traffic from several client keys: one client is not the whole workload (docs/protocol.md, "Decoys").
      const r = await infer(net.clients[i % net.clients.length]!, {
        modelId: net.modelId,
        inputs: { Input3: mnistImage(net.mnist, i) },
        mode: options.mode,
        node: net.nodes[nodeIndex]!.url,
      })
      const logits = Object.values(r.outputs)[0]!.values
      const answer = logits.indexOf(Math.max(...logits))
      const t: Tracked = {
        i,
        label: net.mnist.labels[i]!,
        answer,
        inferenceId: r.inferenceId,
        outputHash: r.receipt.outputHash,
        receipt: r.receipt,
        signature: r.signature,
        mode: r.receipt.mode,
        node: r.node.url,
        faultyNode: net.nodes.find((n) => n.url === r.node.url)?.faulty ?? false,
        raw: Object.values(r.outputs)[0]!.raw,
        fee: r.receipt.fee,
        executedAt: Date.now(),
        latencyMs: r.latencyMs,
        reached: { EXECUTED: Date.now() },
        level: 'EXECUTED',
      }
      tracked.push(t)
      if (tracked.length <= 10 || options.verbose) {
        out(
          `  #${String(i).padStart(4)}  digit ${t.label} → ${answer} ${answer === t.label ? '✓' : '✗'}  node ${net.nodes.findIndex((n) => n.url === r.node.url)}  receipt in ${r.latencyMs.toFixed(1)} ms  ${r.inferenceId.slice(0, 14)}…`,
        )
      } else if (tracked.length === 11) out('  …')
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker))

  // Follow every receipt through its trust levels: chain events, timed when first seen (no load on the nodes).
  const deadline = Date.now() + (options.window * 4 + 120) * 1000
  let lastStatus = 0
  let shownTimelines = 0
  out('\nTimelines (seconds after the receipt; the first settled requests, all with --verbose):')
  for (;;) {
    await Promise.all(
      tracked
        .filter((t) => t.position === undefined)
        .map(async (t) => {
          // The harness asks the node itself, not a hostile front wrapping it: it measures, it does not audit.
          const own = net.nodes.find((n) => n.url === t.node)?.node.localUrl() ?? t.node
          const r = (await fetchJson(`${own}/v1/inferences/${t.inferenceId}`, { timeoutMs: 5000, maxBytes: 1 << 20 }).catch(
            () => ({}),
          )) as {
            batch?: { batchId: number | null; index: number } | null
          }
          if (r.batch?.batchId != null) t.position = { batchId: r.batch.batchId, index: r.batch.index }
        }),
    )
    for (const t of tracked) {
      if (!t.position) continue
      const { level, reached } = tracker.trust(t.position.batchId, t.position.index)
      Object.assign(t.reached, reached, { EXECUTED: t.reached.EXECUTED })
      if (level !== t.level && (level === 'FINAL' || level === 'OVERTURNED') && (options.verbose || shownTimelines++ < 12))
        out(timelineLine(t, level))
      t.level = level
    }
    const settled = tracked.every((t) => t.level === 'FINAL' || t.level === 'OVERTURNED')
    if (Date.now() - lastStatus > 2000 || settled) {
      lastStatus = Date.now()
      out(
        `  [${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s]  ${LEVELS.map((l) => `${l} ${tracked.filter((t) => t.level === l).length}`).join('   ')}`,
      )
    }
    if (settled || Date.now() > deadline) break
    await new Promise((r) => setTimeout(r, 250))
  }
  await tracker.stop()
  // A whole-batch withholder's overturned receipts named no client on-chain: their client claims its
  // refund with its node-signed receipt (`challengeInclusion`).
  for (const [k, w] of (options.dataWithholders ?? []).entries())
    if (w.wholeBatch) {
      const claimed = await claimInclusionRefunds(net, tracked, k)
      out(`\nClient refunds claimed from node ${k} by inclusion challenges: ${claimed.proven} proven, ${claimed.expired} expired`)
    }
  const attacks: AttackReport[] = []
  for (const [k, strategy] of (options.moneyAttacks ?? []).entries()) {
    // Accounts after the client's are used by no role: each attack gets its own.
    const key = net.chain.accounts[options.nodes + options.verifiers + 2 + k]!.privateKey
    out(`\nAttack: ${strategy}`)
    const report = await runMoneyAttack(net, strategy, key)
    for (const step of report.steps) out(`  ${step.tried}: ${step.outcome}`)
    out(
      `  → stolen ${formatUnits(report.stolen, 18)} VRT, honest parties slashed ${formatUnits(report.honestSlashed, 18)} VRT, settled twice ${report.settledTwice}, attacker slashed ${formatUnits(report.attackerSlashed, 18)} VRT`,
    )
    attacks.push(report)
  }
  const summary: DevnetSummary = { ...(await summarize(net, tracked, workloadStart, options)), attacks: attacks.map(attackToJson) }
  if (squatter) summary.adversary = await squatter.report(net)
  if (net.lazyVerifier) summary.lazyVerifier = await lazyVerifierOutcome(net, workloadStart)
  if (options.dataWithholders?.length)
    summary.withholders = await Promise.all(
      options.dataWithholders.map((_, k) =>
        k === 0 && summary.adversary
          ? (summary.adversary as WithholderOutcome)
          : withholderOutcome(net, tracked, workloadStart, options, k),
      ),
    )
  printSummary(summary, out)
  if (options.json) console.log(JSON.stringify(summary))
  if (options.exit) {
    await net.stop()
    return summary
  }
  out('\nThe network keeps serving. From another terminal:')
  out(
    `  verity infer --model ${net.modelId} --input mnist:${options.mnist}#42 --rpc ${net.chain.rpcUrl} --addresses ${join(net.dir, 'addresses.json')} --key ${net.clientKeyFile}`,
  )
  out(`  verity status ${tracked[0]?.inferenceId ?? '<id>'} --rpc ${net.chain.rpcUrl} --addresses ${join(net.dir, 'addresses.json')}`)
  out(`  verity audit ${tracked[0]?.inferenceId ?? '<id>'} --rpc ${net.chain.rpcUrl} --addresses ${join(net.dir, 'addresses.json')}`)
  out('Press Ctrl-C to stop.')
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve())
    process.once('SIGTERM', () => resolve())
  })
  await net.stop()
  return summary
}

/** One request's whole timeline: `#  12  digit 7 → 7 ✓  EXECUTED | COMMITTED +0.6 s | ATTESTED +0.9 s | FINAL +31.2 s`. */
function timelineLine(t: Tracked, level: TrustLevel): string {
  const after = (l: TrustLevel) =>
    t.reached[l] === undefined ? undefined : `${l} +${((t.reached[l]! - t.executedAt) / 1000).toFixed(1)} s`
  const steps = ['EXECUTED', after('COMMITTED'), after('ATTESTED'), after('DISPUTED'), after(level)].filter((x) => x !== undefined)
  return `  #${String(t.i).padStart(4)}  digit ${t.label} → ${t.answer} ${t.answer === t.label ? '✓' : '✗'}  ${steps.join(' | ')}`
}

export type DevnetSummary = {
  /** Where to read the run back (while the devnet serves): its JSON-RPC URL and address book. */
  chain: { rpcUrl: string; addressBook: string }
  requests: number
  correct: number
  accuracy: number
  levels: Record<string, number>
  /** Seconds from the receipt to each level: p50 and p99 over the receipts that reached it. */
  timeTo: Record<'COMMITTED' | 'ATTESTED' | 'FINAL', { reached: number; p50: number | null; p99: number | null }>
  receiptLatencyMs: { p50: number; p99: number }
  disputed: { total: number; fromFaultyNode: number; overturned: number }
  /** Dispute games of the run and what they moved, from the chain's events. */
  games: {
    played: number
    nodeLost: number
    challengerLost: number
    slashed: string
    refunded: string
    bounties: string
    bondsToNodes: string
    /** Decoys verifiers found and challenged, conceded by their nodes, and what the nodes paid for them (VRT). */
    decoysConceded: number
    decoyRewards: string
  }
  feesPaid: string
  gasSpent: number
  /**
   * What an adversary attempted and what came of it: the hostile front of node 0 (`tarpit`,
   * `receipt-forger`) or the model squatter outside the roles (`model-squatter`).
   */
  adversary?: AdversaryOutcome | ModelSquatterReport
  /** The cheating node of `--adversary wrong-output|deep-value|silent:<rate>`: its cheats, how many were caught, what it gained and lost. */
  cheater?: CheaterOutcome
  /** The lazy verifier (`--adversary lazy-verifier`), read from the chain: amounts in VRT. */
  lazyVerifier?: LazyVerifierOutcome
  /** Every withholding node (`data-withholder`, `late-publisher`), in node order; node 0's is also `adversary`. */
  withholders?: WithholderOutcome[]
  verifiers: { checked: number; matched: number; challenges: number }[]
  /** Model-run time of the verifiers' re-executions over the nodes' own runs (issue 14's ratio). */
  verification: { inferenceComputeMs: number; verificationComputeMs: number; share: number }
  /**
   * The same ratio as the dashboard derives it from the chain alone: receipts attested or challenged
   * over committed receipts less revealed decoys, weighted by model cost (docs/dashboard.md).
   */
  dashboardVerification: Summary['verification']
  /** The dashboard's fees (wei): redeemed less every refund, from its index through block `throughBlock` (read back against the chain by the e2e). */
  dashboardFees: { fees: string; throughBlock: string }
  /** The money attacks run (`--adversary escrow-thief` …): amounts in VRT. */
  attacks: ReturnType<typeof attackToJson>[]
}

function attackToJson(r: AttackReport) {
  return {
    strategy: r.strategy,
    attacker: r.attacker,
    steps: r.steps,
    stolen: formatUnits(r.stolen, 18),
    honestSlashed: formatUnits(r.honestSlashed, 18),
    attackerSlashed: formatUnits(r.attackerSlashed, 18),
    settledTwice: r.settledTwice,
  }
}

export type AdversaryOutcome =
  | {
      strategy: 'tarpit'
      /** Connections of verifiers and indexer the tarpit held open. */
      connectionsHeld: number
      honestBatches: number
      /** Honest batches with at least one attestation mined within their challenge window. */
      honestBatchesAttestedInWindow: number
      tarpitBatches: number
      tarpitBatchesAttested: number
    }
  | {
      strategy: 'receipt-forger'
      /** Answers the forger replaced with another receipt (and its valid signature and proof). */
      forgedAnswers: number
      /** The forger's receipts asked about through the SDK's getInference, by outcome. */
      sdkChecks: number
      sdkAccepted: number
      sdkRejected: Record<string, number>
    }
  | WithholderOutcome

/**
 * What cheating earned node 0 (`--adversary wrong-output|deep-value|silent:<rate>`) and what it cost
 * it, amounts in VRT. A cheat is an answer whose output differs from the honest run of the same input
 * (re-run here); caught = its receipt was overturned on-chain. Gain, counted generously: the fees of
 * the uncaught cheats (kept), plus one fee per cheat for the compute it saved (a fee is priced above
 * the node's compute, docs/economics.md; these faulty nodes in fact run the model and then lie, so
 * they save nothing). Loss, read from the chain's ReceiptOverturned events of the node's batches:
 * slashes and refunds (decoys the node conceded are excluded: every node pays those).
 */
export type CheaterOutcome = {
  node: string
  fault: string
  rate: number
  receipts: number
  cheats: number
  caught: number
  gain: string
  slashed: string
  refunded: string
  loss: string
  lostMoreThanGained: boolean
  /** The node's active stake at the end (NodeRegistry): what its slashes left of it. */
  stakeLeft: string
}

async function cheaterOutcome(net: Devnet, tracked: Tracked[], fromBlock: bigint, fault: Fault): Promise<CheaterOutcome> {
  const cheater = net.nodes.find((n) => n.faulty)!
  const model = await net.client.model(net.modelId)
  const served = tracked.filter((t) => t.faultyNode)
  const cheats = served.filter((t) => {
    const honest = runQuantized(model, quantizeInputs(model, { Input3: mnistImage(net.mnist, t.i) })).outputs[0]!
    return t.raw.length !== honest.length || t.raw.some((v, k) => v !== honest[k])
  })
  const { committed, overturned, resolved } = await runEvents(net, fromBlock)
  const mine = new Set(committed.filter((e) => e.args.node.toLowerCase() === cheater.node.address.toLowerCase()).map((e) => e.args.batchId))
  const conceded = new Set(resolved.filter((e) => e.args.reason === GameReason.conceded).map((e) => e.args.gameId))
  const paid = overturned.filter((e) => mine.has(e.args.batchId) && !conceded.has(e.args.challengeId))
  const overturnedAt = new Set(paid.map((e) => `${e.args.batchId}:${e.args.receiptIndex}`))
  const caught = cheats.filter((t) => t.position && overturnedAt.has(`${t.position.batchId}:${t.position.index}`))
  const gain = cheats.filter((t) => !caught.includes(t)).reduce((a, t) => a + t.fee, 0n) + cheats.reduce((a, t) => a + t.fee, 0n)
  const slashed = paid.reduce((a, e) => a + e.args.slashed, 0n)
  const refunded = paid.reduce((a, e) => a + e.args.refund, 0n)
  const operator = await net.chain.publicClient.readContract({
    address: net.book.contracts.nodeRegistry,
    abi: nodeRegistryAbi,
    functionName: 'getOperator',
    args: [cheater.node.address, Role.inference],
  })
  return {
    node: cheater.node.address,
    fault: fault.kind,
    rate: fault.rate,
    receipts: served.length,
    cheats: cheats.length,
    caught: caught.length,
    gain: formatUnits(gain, 18),
    slashed: formatUnits(slashed, 18),
    refunded: formatUnits(refunded, 18),
    loss: formatUnits(slashed + refunded, 18),
    lostMoreThanGained: slashed + refunded > gain,
    stakeLeft: formatUnits(operator.staked, 18),
  }
}

async function adversaryOutcome(
  net: Devnet,
  tracked: Tracked[],
  fromBlock: bigint,
  options: DevnetCommandOptions,
): Promise<AdversaryOutcome | undefined> {
  const front = net.adversary
  if (!front) return undefined
  const hostile = net.nodes[0]!
  const window = options.window
  if (front.strategy === 'data-withholder') return withholderOutcome(net, tracked, fromBlock, options, 0)
  if (front.strategy === 'receipt-forger') {
    const asked = tracked.filter((t) => t.node === hostile.url).slice(0, 16)
    const rejected: Record<string, number> = {}
    let accepted = 0
    for (const t of asked) {
      try {
        await getInference(net.client, { inferenceId: t.inferenceId, node: hostile.url })
        accepted++
      } catch (error) {
        const code = (error as { code?: string }).code ?? 'UNTYPED'
        rejected[code] = (rejected[code] ?? 0) + 1
      }
    }
    return {
      strategy: 'receipt-forger',
      forgedAnswers: front.counts().forged,
      sdkChecks: asked.length,
      sdkAccepted: accepted,
      sdkRejected: rejected,
    }
  }
  const events = { address: net.book.contracts.settlement, abi: settlementAbi, fromBlock: fromBlock + 1n, strict: true } as const
  const [committed, attested] = await Promise.all([
    net.chain.publicClient.getContractEvents({ ...events, eventName: 'BatchCommitted' }),
    net.chain.publicClient.getContractEvents({ ...events, eventName: 'Attested' }),
  ])
  const timeOf = async (blockNumber: bigint) => Number((await net.chain.publicClient.getBlock({ blockNumber })).timestamp)
  let honestBatches = 0
  let honestInWindow = 0
  let tarpitBatches = 0
  let tarpitAttested = 0
  for (const c of committed) {
    const start = await timeOf(c.blockNumber)
    const mine = attested.filter((a) => a.args.batchId === c.args.batchId)
    const inWindow = (await Promise.all(mine.map((a) => timeOf(a.blockNumber)))).some((t) => t < start + window)
    if (c.args.node.toLowerCase() === hostile.node.address.toLowerCase()) {
      tarpitBatches++
      if (mine.length > 0) tarpitAttested++
    } else {
      honestBatches++
      if (inWindow) honestInWindow++
    }
  }
  return {
    strategy: 'tarpit',
    connectionsHeld: front.counts().held,
    honestBatches,
    honestBatchesAttestedInWindow: honestInWindow,
    tarpitBatches,
    tarpitBatchesAttested: tarpitAttested,
  }
}

async function summarize(
  net: Devnet,
  tracked: Tracked[],
  fromBlock: bigint,
  options: DevnetCommandOptions,
): Promise<Omit<DevnetSummary, 'attacks'>> {
  const pct = (values: number[], p: number) => {
    if (values.length === 0) return null
    const sorted = [...values].sort((a, b) => a - b)
    return Number(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(3))
  }
  const timeTo = Object.fromEntries(
    (['COMMITTED', 'ATTESTED', 'FINAL'] as const).map((level) => {
      const gaps = tracked.filter((t) => t.reached[level] !== undefined).map((t) => (t.reached[level]! - t.executedAt) / 1000)
      return [level, { reached: gaps.length, p50: pct(gaps, 0.5), p99: pct(gaps, 0.99) }]
    }),
  ) as DevnetSummary['timeTo']
  const head = await net.chain.publicClient.getBlockNumber()
  let gas = 0n
  for (let b = fromBlock + 1n; b <= head; b++) gas += (await net.chain.publicClient.getBlock({ blockNumber: b })).gasUsed
  // Fees are what moved: client escrow redeemed by the nodes on their channels.
  const redeemed = await scanLogs(net.chain, {
    fromBlock: fromBlock + 1n,
    toBlock: head,
    fetch: (range) =>
      net.chain.publicClient.getContractEvents({
        abi: settlementAbi,
        address: net.book.contracts.settlement,
        eventName: 'Redeemed',
        ...range,
        strict: true,
      }),
  })
  const fees = redeemed.reduce((sum, e) => sum + e.args.debited, 0n)
  const latencies = tracked.map((t) => t.latencyMs)
  const correct = tracked.filter((t) => t.answer === t.label).length
  return {
    chain: { rpcUrl: net.chain.rpcUrl, addressBook: join(net.dir, 'addresses.json') },
    requests: tracked.length,
    correct,
    accuracy: tracked.length === 0 ? 0 : correct / tracked.length,
    levels: Object.fromEntries(LEVELS.map((l) => [l, tracked.filter((t) => t.level === l).length])),
    timeTo,
    receiptLatencyMs: { p50: pct(latencies, 0.5) ?? 0, p99: pct(latencies, 0.99) ?? 0 },
    disputed: {
      total: tracked.filter((t) => t.reached.DISPUTED !== undefined).length,
      fromFaultyNode: tracked.filter((t) => t.reached.DISPUTED !== undefined && t.faultyNode).length,
      overturned: tracked.filter((t) => t.level === 'OVERTURNED').length,
    },
    games: await gamesOf(net, fromBlock),
    feesPaid: formatUnits(fees, 18),
    gasSpent: Number(gas),
    verifiers: net.verifiers.map((v) => ((s) => ({ checked: s.checked, matched: s.matched, challenges: s.challenges }))(v.store.stats())),
    verification: ((inference, verification) => ({
      inferenceComputeMs: Number(inference.toFixed(1)),
      verificationComputeMs: Number(verification.toFixed(1)),
      share: inference === 0 ? 0 : Number((verification / inference).toFixed(4)),
    }))(
      net.nodes.reduce((sum, n) => sum + n.node.store.computeMsTotal(), 0),
      net.verifiers.reduce((sum, v) => sum + v.store.computeMsTotal(), 0),
    ),
    dashboardVerification: await indexedVerification(net),
    // Read once the index holds the run (above): evaluated in order.
    dashboardFees: { fees: summaryOf(net.indexer.store).fees, throughBlock: net.indexer.store.getMeta('cursor') ?? '0' },
    ...(await adversaryOutcome(net, tracked, fromBlock, options).then((adversary) => (adversary ? { adversary } : {}))),
    ...(options.fault ? { cheater: await cheaterOutcome(net, tracked, fromBlock, options.fault) } : {}),
  }
}

/**
 * The dashboard's chain-derived verification ratio once its index holds the run: every event up to
 * the chain's head, every batch's receipts, every model priced — or what it holds after 20 s (a
 * hostile node may never serve its batch; `Indexer.caughtUp` would wait for it forever).
 */
async function indexedVerification(net: Devnet): Promise<Summary['verification']> {
  const store = net.indexer.store
  const head = await net.chain.publicClient.getBlockNumber()
  const deadline = Date.now() + 20_000
  for (;;) {
    const cursor = BigInt(store.getMeta('cursor') ?? '0')
    const unfetched = store.get<{ n: number }>('SELECT COUNT(*) AS n FROM batches WHERE fetched = 0')!.n
    const verification = summaryOf(store).verification
    if ((cursor >= head && unfetched === 0 && verification.unpriced === 0) || Date.now() > deadline) return verification
    await new Promise((r) => setTimeout(r, 250))
  }
}

function printSummary(s: DevnetSummary, out: (line: string) => void): void {
  const f = (v: number | null) => (v === null ? '–' : `${v.toFixed(2)} s`)
  out('\nSummary')
  out(`  requests      ${s.requests}, accuracy ${(100 * s.accuracy).toFixed(1)} % (${s.correct} correct)`)
  out(
    `  receipt       p50 ${s.receiptLatencyMs.p50.toFixed(1)} ms, p99 ${s.receiptLatencyMs.p99.toFixed(1)} ms (HTTP round trip with signing and durable storage)`,
  )
  for (const [level, t] of Object.entries(s.timeTo)) out(`  → ${level.padEnd(10)} ${t.reached} reached, p50 ${f(t.p50)}, p99 ${f(t.p99)}`)
  out(`  disputed      ${s.disputed.total} (${s.disputed.fromFaultyNode} from the faulty node), ${s.disputed.overturned} overturned`)
  out(
    `  games         ${s.games.played} played: node lost ${s.games.nodeLost}, challenger lost ${s.games.challengerLost}; slashed ${s.games.slashed} VRT, refunded ${s.games.refunded} VRT to clients, bounties ${s.games.bounties} VRT, bonds to nodes ${s.games.bondsToNodes} VRT; decoys found and conceded ${s.games.decoysConceded} (${s.games.decoyRewards} VRT to their finders)`,
  )
  out(
    `  fees paid     ${s.feesPaid} VRT to nodes and verifiers; gas spent ${s.gasSpent.toLocaleString('en-US')} (${(s.gasSpent / Math.max(1, s.requests)).toFixed(0)} per request)`,
  )
  out(`  verifiers     ${s.verifiers.map((v) => `${v.checked} re-executed, ${v.matched} matched, ${v.challenges} challenged`).join(' | ')}`)
  out(
    `  verification  ${(100 * s.verification.share).toFixed(2)} % of inference compute (${s.verification.verificationComputeMs} ms re-executing for ${s.verification.inferenceComputeMs} ms answering)`,
  )
  const d = s.dashboardVerification
  out(
    `                ${(100 * d.share).toFixed(2)} % on the dashboard, from the chain: ${d.reexecutions} receipts attested or challenged over ${d.inferences} inferences (${d.decoys} revealed decoys left out), weighted by model cost`,
  )
  if (s.cheater) {
    const c = s.cheater
    out(
      `  cheater       node ${c.node.slice(0, 10)}… (${c.fault} ${c.rate}): ${c.cheats} cheats in ${c.receipts} receipts, ${c.caught} caught; gained ≤ ${c.gain} VRT, lost ${c.loss} VRT (slashed ${c.slashed}, refunded ${c.refunded}) → ${c.lostMoreThanGained ? 'cheating lost money' : 'CHEATING PAID'}`,
    )
  }
  for (const a of s.withholders ?? []) {
    out(
      `  node ${a.node} ${a.strategy}: ${a.cheats} cheats (${a.cheatsSampled} sampled, ${a.cheatsWithheld} withheld); ${a.dataChallenges} data challenges, ${a.dataPublished} answered; overturned ${a.overturnedForMissingData} for missing data, ${a.overturnedByGame} by a game; FINAL ${a.cheatsFinal} (${a.cheatsFinalUnchecked} of them sampled); node slashed ${a.nodeSlashed} VRT, clients refunded ${a.clientRefunded} VRT (${a.inclusionRefunds} claimed by inclusion challenges), channel credit ${a.clientCredit} VRT`,
    )
  }
  if (s.lazyVerifier) {
    const l = s.lazyVerifier
    out(
      `  lazy verifier attested ${l.attested} batches without re-executing; slashed ${l.slashed} times (${l.stakeLost} VRT), paid ${l.paid} VRT: net ${l.net} VRT`,
    )
  }
  if (s.adversary?.strategy === 'model-squatter') {
    const a = s.adversary
    out(
      `  squatter      ${a.attempts.map((t) => `wrong ${t.wrongRoot} → ${t.isHonestId ? 'THE HONEST ID' : `another id ${t.namedId.slice(0, 10)}…`}`).join(', ')}`,
    )
    out(
      `                clients refused: ${a.clientRefusals.join(', ')}; nodes refused: ${a.nodeRefusals.join(', ')}; honest nodes slashed ${formatUnits(BigInt(a.honestNodesSlashed), 18)} VRT (decoy rewards paid from stake ${formatUnits(BigInt(a.decoyRewardsFromStake), 18)} VRT)`,
    )
  }
}

/** The run's settlement events from the chain (after `fromBlock`): commits, overturns, rejected challenges, resolved games. */
async function runEvents(net: Devnet, fromBlock: bigint) {
  const events = { address: net.book.contracts.settlement, abi: settlementAbi, strict: true } as const
  const scan = <log>(fetch: (range: { fromBlock: bigint; toBlock: bigint }) => Promise<log[]>) =>
    scanLogs(net.chain, { fromBlock: fromBlock + 1n, fetch })
  const [committed, overturned, rejected, resolved] = await Promise.all([
    scan((range) => net.chain.publicClient.getContractEvents({ ...events, ...range, eventName: 'BatchCommitted' })),
    scan((range) => net.chain.publicClient.getContractEvents({ ...events, ...range, eventName: 'ReceiptOverturned' })),
    scan((range) => net.chain.publicClient.getContractEvents({ ...events, ...range, eventName: 'ChallengeRejected' })),
    scan((range) =>
      net.chain.publicClient.getContractEvents({
        address: net.book.contracts.disputeGame,
        abi: disputeGameAbi,
        eventName: 'GameResolved',
        ...range,
        strict: true,
      }),
    ),
  ])
  return { committed, overturned, rejected, resolved }
}

/** The dispute games of the run: outcomes, and the stake, refunds, bounties and bonds they moved. */
async function gamesOf(net: Devnet, fromBlock: bigint): Promise<DevnetSummary['games']> {
  const { overturned, rejected, resolved } = await runEvents(net, fromBlock)
  const sum = (values: bigint[]) =>
    formatUnits(
      values.reduce((a, b) => a + b, 0n),
      18,
    )
  // Decoys (forced errors) a node conceded when a verifier challenged them: checks that paid, not cheats.
  const conceded = new Set(resolved.filter((e) => e.args.reason === GameReason.conceded).map((e) => e.args.gameId))
  const cheats = overturned.filter((e) => !conceded.has(e.args.challengeId))
  return {
    played: resolved.length - conceded.size,
    nodeLost: resolved.filter((e) => e.args.nodeLost && !conceded.has(e.args.gameId)).length,
    challengerLost: resolved.filter((e) => !e.args.nodeLost).length,
    slashed: sum(cheats.map((e) => e.args.slashed)),
    refunded: sum(cheats.map((e) => e.args.refund)),
    bounties: sum(cheats.map((e) => e.args.bounty)),
    bondsToNodes: sum(rejected.map((e) => e.args.bond)),
    decoysConceded: conceded.size,
    decoyRewards: sum(overturned.filter((e) => conceded.has(e.args.challengeId)).map((e) => e.args.bounty)),
  }
}
