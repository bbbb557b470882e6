import { scanLogs } from '@verity/chain'
import { nodeRegistryAbi, Role, settlementAbi } from '@verity/contracts'
import { sampledReceipts } from '@verity/node'
import { mnistImage, quantizeInputs, runQuantized, tensorsHash } from '@verity/runtime'
import { formatUnits } from 'viem'
import type { DevnetCommandOptions, Tracked } from '../commands/devnet.js'
import type { Devnet } from './startDevnet.js'

/**
 * What came of node 0 cheating and withholding (`data-withholder`, `late-publisher`), all from the
 * chain read back but for which receipts are cheats (a local honest run of each of node 0's answers).
 * Amounts in VRT.
 */
export type WithholderOutcome = {
  strategy: 'data-withholder' | 'late-publisher' | 'batch-withholder'
  /** Which devnet node (0, 1, …), and its address. */
  node: number
  address: string
  /** Node 0's receipts whose signed output differs from an honest run. */
  cheats: number
  /** Cheats the public selection rule picks for at least one registered verifier (from the commit's block hash). */
  cheatsSampled: number
  /** Cheats whose data was challenged on-chain and never published. */
  cheatsWithheld: number
  /** Data challenges against node 0's receipts, and how many it answered with `publishData`. */
  dataChallenges: number
  dataPublished: number
  /** Cheats overturned, by an unanswered data challenge or by a dispute game. */
  overturnedForMissingData: number
  overturnedByGame: number
  /** Cheats in a finalized batch, not overturned; of them, those that were sampled (must be 0). */
  cheatsFinal: number
  cheatsFinalUnchecked: number
  /** Stake node 0 lost (NodeRegistry `Slashed`), and fees refunded to clients for its overturned cheats. */
  nodeSlashed: string
  clientRefunded: string
}

export type LazyVerifierOutcome = {
  address: string
  /** Batches it attested (its `Attested` events). */
  attested: number
  /** `AttesterSlashed` events against it, the stake they took, its verification pay (`claimable`), and pay − stake lost. */
  slashed: number
  stakeLost: string
  paid: string
  net: string
}

export async function withholderOutcome(
  net: Devnet,
  tracked: Tracked[],
  fromBlock: bigint,
  options: DevnetCommandOptions,
  nodeIndex: number,
): Promise<WithholderOutcome> {
  const hostile = net.nodes[nodeIndex]!
  const client = net.chain.publicClient
  const scan = <log>(fetch: (range: { fromBlock: bigint; toBlock: bigint }) => Promise<log[]>) =>
    scanLogs(net.chain, { fromBlock: fromBlock + 1n, fetch })
  const settlement = { address: net.book.contracts.settlement, abi: settlementAbi, strict: true } as const
  const [committed, dataChallenged, published, overturned, finalized, slashes] = await Promise.all([
    scan((r) => client.getContractEvents({ ...settlement, ...r, eventName: 'BatchCommitted', args: { node: hostile.node.address } })),
    scan((r) => client.getContractEvents({ ...settlement, ...r, eventName: 'DataChallenged' })),
    scan((r) => client.getContractEvents({ ...settlement, ...r, eventName: 'DataPublished' })),
    scan((r) => client.getContractEvents({ ...settlement, ...r, eventName: 'ReceiptOverturned' })),
    scan((r) => client.getContractEvents({ ...settlement, ...r, eventName: 'BatchFinalized', args: { node: hostile.node.address } })),
    scan((r) =>
      client.getContractEvents({
        address: net.book.contracts.nodeRegistry,
        abi: nodeRegistryAbi,
        eventName: 'Slashed',
        args: { operator: hostile.node.address, role: Role.inference },
        ...r,
        strict: true,
      }),
    ),
  ])
  const commits = new Map(committed.map((e) => [e.args.batchId, e]))
  const mine = <e extends { args: { batchId: bigint } }>(events: e[]) => events.filter((e) => commits.has(e.args.batchId))
  const challenges = mine(dataChallenged)
  const publishedIds = new Set(mine(published).map((e) => e.args.challengeId))
  const dataIds = new Set(challenges.map((e) => e.args.challengeId))
  const finalIds = new Set(finalized.map((e) => e.args.batchId))
  const model = await net.client.model(net.modelId)
  const at = (e: { args: { batchId: bigint; receiptIndex: number } }, t: Tracked) =>
    e.args.batchId === BigInt(t.position!.batchId) && e.args.receiptIndex === t.position!.index
  const cheats = tracked.filter(
    (t) =>
      t.node === hostile.url &&
      t.position !== undefined &&
      tensorsHash(runQuantized(model, quantizeInputs(model, { Input3: mnistImage(net.mnist, t.i) })).outputs) !== t.outputHash,
  )
  let sampled = 0
  let withheld = 0
  let final = 0
  let finalUnchecked = 0
  let byData = 0
  let byGame = 0
  let refunded = 0n
  for (const t of cheats) {
    const commit = commits.get(BigInt(t.position!.batchId))
    const modes = new Array<number>(t.position!.index + 1).fill(0)
    modes[t.position!.index] = t.mode
    const picked =
      commit !== undefined &&
      [
        ...(
          await sampledReceipts({
            chain: net.chain,
            book: net.book,
            batchId: t.position!.batchId,
            node: hostile.node.address,
            blockHash: commit.blockHash,
            blockNumber: commit.blockNumber,
            modes,
            ...(options.sampleRate === undefined ? {} : { sampleRate: options.sampleRate }),
          })
        ).values(),
      ].some((p) => p.includes(t.position!.index))
    if (picked) sampled++
    const challenged = challenges.filter((e) => at(e, t))
    if (challenged.length > 0 && challenged.every((e) => !publishedIds.has(e.args.challengeId))) withheld++
    const upheld = overturned.find((e) => at(e, t))
    if (upheld) {
      if (dataIds.has(upheld.args.challengeId)) byData++
      else byGame++
      refunded += upheld.args.refund
    } else if (finalIds.has(BigInt(t.position!.batchId))) {
      final++
      if (picked) finalUnchecked++
    }
  }
  return {
    strategy: options.dataWithholders?.[nodeIndex]?.publishOnChallenge
      ? 'late-publisher'
      : options.dataWithholders?.[nodeIndex]?.wholeBatch
        ? 'batch-withholder'
        : 'data-withholder',
    node: nodeIndex,
    address: hostile.node.address,
    cheats: cheats.length,
    cheatsSampled: sampled,
    cheatsWithheld: withheld,
    dataChallenges: challenges.length,
    dataPublished: publishedIds.size,
    overturnedForMissingData: byData,
    overturnedByGame: byGame,
    cheatsFinal: final,
    cheatsFinalUnchecked: finalUnchecked,
    nodeSlashed: formatUnits(
      slashes.reduce((sum, e) => sum + e.args.amount, 0n),
      18,
    ),
    clientRefunded: formatUnits(refunded, 18),
  }
}

/** The lazy verifier's outcome, from the chain: its attestations, the slashes they cost it, its pay. */
export async function lazyVerifierOutcome(net: Devnet, fromBlock: bigint): Promise<LazyVerifierOutcome> {
  const lazy = net.lazyVerifier!
  const report = await lazy.report()
  const attested = await scanLogs(net.chain, {
    fromBlock: fromBlock + 1n,
    fetch: (range) =>
      net.chain.publicClient.getContractEvents({
        address: net.book.contracts.settlement,
        abi: settlementAbi,
        eventName: 'Attested',
        args: { verifier: lazy.address },
        ...range,
        strict: true,
      }),
  })
  return {
    address: lazy.address,
    attested: attested.length,
    slashed: report.slashed,
    stakeLost: formatUnits(report.stakeLost, 18),
    paid: formatUnits(report.paid, 18),
    net: formatUnits(report.net, 18),
  }
}
