import { ContractRevertError, scanLogs, TxSender } from '@verity/chain'
import { nodeRegistryAbi, Role, settlementAbi } from '@verity/contracts'
import { sampledReceipts } from '@verity/node'
import { mnistImage, quantizeInputs, runQuantized, tensorsHash } from '@verity/runtime'
import { challengeInclusion } from '@verity/sdk'
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
  /**
   * Inclusion challenges settled (proven or expired) and those that refunded the client, which
   * claims with its node-signed receipts (`challengeInclusion`: an availability challenge names no
   * client); and the client's channel credit with the node (fees of its
   * overturned receipts it had not paid yet, deducted from the node's next redemptions).
   */
  inclusionClaims: number
  inclusionRefunds: number
  clientCredit: string
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
  const [committed, dataChallenged, published, overturned, finalized, slashes, proven, expired] = await Promise.all([
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
    scan((r) => client.getContractEvents({ ...settlement, ...r, eventName: 'InclusionProven' })),
    scan((r) => client.getContractEvents({ ...settlement, ...r, eventName: 'InclusionExpired', args: { node: hostile.node.address } })),
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
  const inclusion = [...proven.filter((e) => commits.has(e.args.batchId)), ...expired]
  refunded += inclusion.reduce((sum, e) => sum + e.args.refund, 0n)
  // The workload's clients' credits with the node, summed.
  let credit = 0n
  for (const c of net.clients)
    credit += await client.readContract({ ...settlement, functionName: 'channelCredit', args: [c.account.address, hostile.node.address] })
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
    inclusionClaims: inclusion.length,
    inclusionRefunds: inclusion.filter((e) => e.args.refund > 0n).length,
    clientCredit: formatUnits(credit, 18),
  }
}

/**
 * The devnet client claims what a whole-batch withholder owes it: for each of its receipts at node
 * `nodeIndex` that ended OVERTURNED, it opens `challengeInclusion` with the node-signed receipt (a
 * receipt already refunded is refused: `ReceiptSettledAlready`); the node proves the receipt at its
 * overturned leaf (the client refunded) or is slashed again once the response time has passed.
 */
export async function claimInclusionRefunds(
  net: Devnet,
  tracked: Tracked[],
  nodeIndex: number,
): Promise<{ proven: number; expired: number }> {
  const url = net.nodes[nodeIndex]!.url
  const settlement = { address: net.book.contracts.settlement, abi: settlementAbi } as const
  const open: { challengeId: bigint; deadline: bigint }[] = []
  // Each receipt's own client claims (the workload is spread over several keys).
  const clientOf = (t: Tracked) => net.clients.find((c) => c.account.address.toLowerCase() === t.receipt.client.toLowerCase()) ?? net.client
  for (const t of tracked.filter((x) => x.node === url && x.level === 'OVERTURNED')) {
    try {
      open.push(await challengeInclusion(clientOf(t), { receipt: t.receipt, signature: t.signature }))
    } catch (error) {
      if (!(error instanceof ContractRevertError && error.errorName === 'ReceiptSettledAlready')) throw error
    }
  }
  const sender = new TxSender({ chain: net.chain, account: net.client.account })
  let proven = 0
  let expired = 0
  for (const { challengeId, deadline } of open) {
    for (;;) {
      const { status } = await net.chain.publicClient.readContract({ ...settlement, functionName: 'getChallenge', args: [challengeId] })
      if (status !== 1) {
        proven++
        break
      }
      const now = Math.max(Date.now(), Number((await net.chain.publicClient.getBlock()).timestamp) * 1000)
      if (now > Number(deadline) * 1000) {
        try {
          await sender.write({ ...settlement, functionName: 'expireChallenge', args: [challengeId] })
          expired++
          break
        } catch (error) {
          // The chain's next block not past the deadline yet: retried.
          if (!(error instanceof ContractRevertError && error.errorName === 'DisputeStillRunning')) throw error
        }
      }
      await new Promise((r) => setTimeout(r, 200))
    }
  }
  return { proven, expired }
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
