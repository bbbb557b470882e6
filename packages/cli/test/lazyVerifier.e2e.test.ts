import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { nodeRegistryAbi, settlementAbi } from '@verity/contracts'
import { type Address, createPublicClient, http, type PublicClient, parseUnits } from 'viem'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { DevnetSummary } from '../src/commands/devnet.js'
import type { LazyVerifierOutcome, WithholderOutcome } from '../src/devnet/withholderOutcome.js'
import { main } from '../src/main.js'

/**
 * Issue 13's accountability adversaries, on one devnet run through the CLI's entry (in process) as a user runs it
 * (`verity devnet --adversary data-withholder:0.5 --adversary late-publisher:0.5 --adversary
 * lazy-verifier --json`), every verifier re-executing every receipt, decoys on (the deployment default):
 *
 * - node 0 cheats on half its answers and, once each commit is mined, computes with the public
 *   selection rule which cheats will be sampled and withholds exactly their inputs (404 on
 *   `/v1/data/…`, no answer to the on-chain data challenge). The verifiers challenge the data they
 *   cannot fetch; the node misses the deadline; each cheat is overturned, its client refunded and
 *   the node slashed. None ends FINAL.
 * - node 1 does the same but answers each data challenge on-chain at the last moment it can count on: the
 *   verifier re-executes the published input and challenges the output in the same window; each
 *   cheat is overturned by a dispute game. None ends FINAL.
 * - node 2 cheats on half its answers and withholds everything: 404 on its batches, its proofs and
 *   its cheats' inputs, so no challenge naming a receipt can be opened. The verifiers challenge the
 *   availability of each leaf by position; the node answers for its honest leaves (publishReceipt)
 *   and cannot for its cheats: each is overturned for missing data. None ends FINAL.
 * - a lazy verifier with its own key attests every receipt without running one; the decoys (and the
 *   overturned cheats) it attested cost it its stake: slashed once per batch, net < 0.
 *
 * Asserted from the `--json` summary and from the chain read back with plain viem while the devnet
 * still serves.
 */
describe('adversarial devnet: a data withholder, a late publisher and a lazy verifier', () => {
  let devnet: Promise<number>
  let summary: DevnetSummary
  let chain: PublicClient
  let book: { contracts: Record<string, Address>; deployedAtBlock: string }

  beforeAll(async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'verity-withholder-')), 'net')
    // In process, without --exit: the summary is printed once the workload has settled and the
    // network keeps serving (its chain read back below) until SIGTERM.
    const printed = new Promise<DevnetSummary>((resolve) => {
      vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
        if (typeof line === 'string' && line.startsWith('{')) resolve(JSON.parse(line) as DevnetSummary)
      })
    })
    devnet = main(
      ['node', 'verity', 'devnet', '--json', '--dir', dir, '--port', '0', '--dashboard-port', '0']
        .concat(['--adversary', 'data-withholder:0.5', '--adversary', 'late-publisher:0.5', '--adversary', 'batch-withholder:0.5'])
        .concat(['--adversary', 'lazy-verifier'])
        .concat([
          '--requests',
          '12',
          '--window',
          '10',
          '--data-response',
          '3',
          '--sample-rate',
          '1',
          '--nodes',
          '3',
          '--verifiers',
          '1',
          '--batch-size',
          '4',
        ]),
    )
    summary = await Promise.race([
      printed,
      devnet.then((code) => Promise.reject(new Error(`verity devnet ended (${code}) before its summary`))),
    ])
    chain = createPublicClient({ transport: http(summary.chain.rpcUrl) }) as PublicClient
    book = JSON.parse(readFileSync(summary.chain.addressBook, 'utf8'))
  }, 240_000)
  afterAll(async () => {
    // The devnet waits for SIGINT or SIGTERM once it has printed its summary (not before).
    if (summary) {
      process.emit('SIGTERM')
      expect(await devnet).toBe(0)
    }
    vi.restoreAllMocks()
  })

  const events = (address: Address, abi: typeof settlementAbi | typeof nodeRegistryAbi, eventName: string) =>
    chain.getContractEvents({ address, abi, eventName, fromBlock: BigInt(book.deployedAtBlock), strict: true } as never) as Promise<
      { args: Record<string, unknown> }[]
    >

  /** The chain's events about one node's batches: its data challenges, the data it published, overturned receipts, its slashes. */
  async function chainOf(node: string) {
    const settlement = book.contracts.settlement!
    const [committed, challenged, published, overturned, slashed] = await Promise.all([
      events(settlement, settlementAbi, 'BatchCommitted'),
      events(settlement, settlementAbi, 'DataChallenged'),
      events(settlement, settlementAbi, 'DataPublished'),
      events(settlement, settlementAbi, 'ReceiptOverturned'),
      events(book.contracts.nodeRegistry!, nodeRegistryAbi, 'Slashed'),
    ])
    const batches = new Set(committed.filter((e) => String(e.args.node).toLowerCase() === node.toLowerCase()).map((e) => e.args.batchId))
    const mine = <e extends { args: Record<string, unknown> }>(list: e[]) => list.filter((e) => batches.has(e.args.batchId as bigint))
    const isOverturned = (e: { args: Record<string, unknown> }) =>
      chain.readContract({
        address: settlement,
        abi: settlementAbi,
        functionName: 'isOverturned',
        args: [e.args.batchId as bigint, e.args.receiptIndex as number],
      }) as Promise<boolean>
    const lost = slashed
      .filter((e) => String(e.args.operator).toLowerCase() === node.toLowerCase())
      .reduce((sum, e) => sum + (e.args.amount as bigint), 0n)
    const slash = (await chain.readContract({ address: settlement, abi: settlementAbi, functionName: 'receiptSlash' })) as bigint
    return { challenged: mine(challenged), published: mine(published), overturned: mine(overturned), isOverturned, lost, slash }
  }

  it('data-withholder: every withheld cheat is data-challenged, unanswered, overturned; the node is slashed; 0 cheats FINAL unchecked', async () => {
    const a = summary.adversary as WithholderOutcome
    expect(a.strategy).toBe('data-withholder')
    expect(summary.withholders?.[0]).toEqual(a)
    expect(a.cheats).toBeGreaterThan(0)
    // At sample rate 1 every cheat is sampled, so the withholder withholds them all.
    expect(a).toMatchObject({
      cheatsSampled: a.cheats,
      cheatsWithheld: a.cheats,
      dataPublished: 0,
      overturnedForMissingData: a.cheats,
      overturnedByGame: 0,
      cheatsFinal: 0,
      cheatsFinalUnchecked: 0,
    })
    // The chain, read back: each data challenge was left unanswered and overturned its receipt at the full slash.
    const c = await chainOf(a.address)
    expect(c.challenged.length).toBe(a.dataChallenges)
    expect(c.challenged.length).toBeGreaterThanOrEqual(a.cheats)
    expect(c.published).toEqual([])
    for (const challenge of c.challenged) {
      const upheld = c.overturned.find((o) => o.args.challengeId === challenge.args.challengeId)
      expect(upheld, `data challenge ${challenge.args.challengeId}`).toBeDefined()
      expect(upheld!.args.slashed).toBe(c.slash)
      expect(await c.isOverturned(challenge)).toBe(true)
    }
    expect(c.lost).toBeGreaterThanOrEqual(c.slash * BigInt(a.cheats))
    expect(parseUnits(a.nodeSlashed, 18)).toBe(c.lost)
  })

  it('late-publisher: data published at the last moment is re-executed and the cheat overturned by a game, inside the window; 0 FINAL', async () => {
    const late = summary.withholders?.[1] as WithholderOutcome
    expect(late).toMatchObject({ strategy: 'late-publisher', node: 1 })
    expect(late.cheats).toBeGreaterThan(0)
    // Every cheat is overturned: by a game once its data is published, or for missing data should
    // the node's last-moment answer itself come too late (its timing, not a defence).
    expect(late).toMatchObject({ cheatsSampled: late.cheats, cheatsFinal: 0, cheatsFinalUnchecked: 0 })
    expect(late.overturnedByGame + late.overturnedForMissingData).toBe(late.cheats)
    expect(late.dataPublished).toBeGreaterThan(0)
    expect(late.overturnedByGame).toBeGreaterThanOrEqual(late.dataPublished)
    // The chain: each answered data challenge paid its bond to the node, and its receipt was overturned anyway, by another challenge.
    const c = await chainOf(late.address)
    expect(c.published.length).toBe(late.dataPublished)
    for (const p of c.published) {
      const challenge = c.challenged.find((e) => e.args.challengeId === p.args.challengeId)!
      expect(await c.isOverturned(challenge)).toBe(true)
      expect(c.overturned.some((o) => o.args.challengeId === p.args.challengeId)).toBe(false)
    }
    expect(parseUnits(late.nodeSlashed, 18)).toBe(c.lost)
    expect(c.lost).toBeGreaterThanOrEqual(c.slash * BigInt(late.cheats))
    const whole = summary.withholders?.[2] as WithholderOutcome
    expect(summary.levels.OVERTURNED).toBe((summary.adversary as WithholderOutcome).cheats + late.cheats + whole.cheats)
    expect(summary.levels.FINAL).toBe(summary.requests - summary.levels.OVERTURNED!)
  })

  it('batch-withholder: every leaf challenged by position; honest leaves published, each cheat overturned for missing data; 0 FINAL', async () => {
    const whole = summary.withholders?.[2] as WithholderOutcome
    expect(whole).toMatchObject({ strategy: 'batch-withholder', node: 2 })
    expect(whole.cheats).toBeGreaterThan(0)
    expect(whole).toMatchObject({
      cheatsWithheld: whole.cheats,
      overturnedForMissingData: whole.cheats,
      overturnedByGame: 0,
      cheatsFinal: 0,
      cheatsFinalUnchecked: 0,
    })
    // The chain: the challenges name no receipt (availability), the node published only honest leaves
    // (with their proofs), and every unanswered one overturned its leaf at the full slash.
    const c = await chainOf(whole.address)
    expect(c.challenged.length).toBe(whole.dataChallenges)
    expect(c.challenged.length).toBeGreaterThanOrEqual(whole.cheats)
    const published = (await events(book.contracts.settlement!, settlementAbi, 'ReceiptPublished')).filter((e) =>
      c.challenged.some((d) => d.args.challengeId === e.args.challengeId),
    )
    expect(published.length).toBe(whole.dataPublished)
    for (const challenge of c.challenged) {
      const entry = (await chain.readContract({
        address: book.contracts.settlement!,
        abi: settlementAbi,
        functionName: 'getChallenge',
        args: [challenge.args.challengeId as bigint],
      })) as { kind: number }
      expect(entry.kind).toBe(2)
      if (published.some((p) => p.args.challengeId === challenge.args.challengeId)) continue
      const upheld = c.overturned.find((o) => o.args.challengeId === challenge.args.challengeId)
      expect(upheld, `availability challenge ${challenge.args.challengeId}`).toBeDefined()
      expect(upheld!.args.slashed).toBe(c.slash)
    }
    expect(parseUnits(whole.nodeSlashed, 18)).toBe(c.lost)
    expect(c.lost).toBeGreaterThanOrEqual(c.slash * BigInt(whole.cheats))
    // No client was named on-chain: the devnet client claimed each overturned receipt with the
    // node-signed receipt (challengeInclusion), refunded, or credited what it had not paid yet.
    expect(whole.inclusionClaims).toBe(whole.cheats)
    expect(parseUnits(whole.clientRefunded, 18) + parseUnits(whole.clientCredit, 18)).toBeGreaterThan(0n)
    // The dashboard's fees equal the chain's, read back through the same block: every redemption less
    // every refund, those paid at an overturn and those the client claimed by inclusion challenges.
    const through = BigInt(summary.dashboardFees.throughBlock)
    const upTo = async (eventName: string) =>
      (await chain.getContractEvents({
        address: book.contracts.settlement!,
        abi: settlementAbi,
        eventName,
        fromBlock: BigInt(book.deployedAtBlock),
        toBlock: through,
        strict: true,
      } as never)) as unknown as { args: { debited?: bigint; refund?: bigint } }[]
    const total = (logs: { args: { debited?: bigint; refund?: bigint } }[], key: 'debited' | 'refund') =>
      logs.reduce((sum, e) => sum + (e.args[key] ?? 0n), 0n)
    const [redeemed, refunded, proven, expired] = await Promise.all(
      ['Redeemed', 'ReceiptOverturned', 'InclusionProven', 'InclusionExpired'].map((name) => upTo(name)),
    )
    expect(BigInt(summary.dashboardFees.fees)).toBe(
      total(redeemed!, 'debited') - total(refunded!, 'refund') - total(proven!, 'refund') - total(expired!, 'refund'),
    )
  })

  it('lazy-verifier: slashed for every batch it attested, net < 0; no honest verifier is slashed', async () => {
    const l = summary.lazyVerifier as LazyVerifierOutcome
    const settlement = book.contracts.settlement!
    const [finalized, attesterSlashed] = await Promise.all([
      events(settlement, settlementAbi, 'BatchFinalized'),
      events(settlement, settlementAbi, 'AttesterSlashed'),
    ])
    expect(l.attested).toBeGreaterThanOrEqual(finalized.length)
    // Every batch hides a decoy: every finalized batch it attested cost it its slash.
    expect(l.slashed).toBe(finalized.length)
    expect(new Set(attesterSlashed.map((e) => String(e.args.verifier).toLowerCase()))).toEqual(new Set([l.address.toLowerCase()]))
    const stakeLost = attesterSlashed.reduce((sum, e) => sum + (e.args.slashed as bigint), 0n)
    expect(parseUnits(l.stakeLost, 18)).toBe(stakeLost)
    expect(parseUnits(l.net, 18)).toBeLessThan(0n)
    // The honest verifiers re-executed the decoys, challenged them, and the nodes conceded (paying them decoyReward).
    expect(summary.games.decoysConceded).toBeGreaterThan(0)
    expect(parseUnits(summary.games.decoyRewards, 18)).toBeGreaterThan(0n)
  })
})
