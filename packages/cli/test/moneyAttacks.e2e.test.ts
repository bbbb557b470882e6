import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runMoneyAttack } from '@verity/adversary'
import { TxSender } from '@verity/chain'
import { buildBatchTree, hashReceipt, receiptFromWire, settlementAbi, verityTokenAbi } from '@verity/contracts'
import { mnistImage } from '@verity/runtime'
import { infer, waitForTrust } from '@verity/sdk'
import { type Hex, parseEventLogs } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Devnet, startDevnet } from '../src/devnet/startDevnet.js'
import { channelCredit, settledEvents } from './devnetState.js'

/**
 * The money attacks of docs/protocol.md's threat table, each run by a hostile party with its own key
 * (plain viem against the devnet's JSON-RPC URL, raw HTTP) against one honest devnet: nothing is
 * stolen, no honest party is slashed, no channel is debited beyond what its client signed.
 */
describe('money attacks on a devnet', () => {
  let net: Devnet
  const key = (k: number) => net.chain.accounts[2 + 2 + 2 + k]!.privateKey
  const outcomes = (r: { steps: { outcome: string }[] }) => r.steps.map((s) => s.outcome)

  beforeAll(async () => {
    net = await startDevnet({
      dir: join(mkdtempSync(join(tmpdir(), 'verity-money-')), 'net'),
      nodes: 2,
      verifiers: 2,
      window: 10,
      sampleRate: 1,
      batchSize: 4,
    })
    // Honest traffic first: settled batches to replay, and vouchers on the nodes' public channel endpoints.
    const answers = []
    for (let i = 0; i < 4; i++)
      answers.push(
        await infer(net.client, { modelId: net.modelId, inputs: { Input3: mnistImage(net.mnist, i) }, node: net.nodes[i % 2]!.url }),
      )
    for (const a of answers)
      await waitForTrust(net.client, {
        inferenceId: a.inferenceId,
        node: a.node.url,
        level: 'FINAL',
        timeoutMs: 90_000,
        pollIntervalMs: 500,
      })
  })
  afterAll(async () => net?.stop())

  it('escrow-thief: a random root moves no money; no voucher but the client’s own pays, and only its named node', async () => {
    const report = await runMoneyAttack(net, 'escrow-thief', key(0))
    expect(report).toMatchObject({ stolen: 0n, honestSlashed: 0n, settledTwice: 0 })
    expect(outcomes(report)).toEqual([
      'committed: it moves no money',
      'committed',
      expect.stringMatching(/^finalized/),
      // The random root's data cannot be fetched: the verifiers challenge its leaves' availability,
      // which the thief cannot answer, so the leaf is overturned before its (unprovable) redemption —
      // unless the verifiers were too late for a data challenge, when only the proof fails.
      expect.stringMatching(/^refused: (ReceiptOverturnedAlready|InvalidInclusionProof)$/),
      'refused: WrongNode',
    ])
  })

  it('replayer: another node’s settled batch re-committed earns nothing and is overturned at the replayer’s cost', async () => {
    const report = await runMoneyAttack(net, 'replayer', key(1))
    expect(report).toMatchObject({ stolen: 0n, honestSlashed: 0n, settledTwice: 0 })
    expect(report.steps[1]!.outcome).toMatch(/^[1-9]\d* data challenge/)
    expect(report.steps[2]!.outcome).toBe('refused: WrongNode')
    const [overturned, count] = report.steps[3]!.outcome.match(/^(\d+) of (\d+) receipts overturned/)!
      .slice(1)
      .map(Number)
    expect(overturned).toBe(count)
    expect(report.attackerSlashed).toBe(net.book.params.slashAmount * BigInt(overturned!))
  })

  it('model-swapper: a receipt naming another model is refused by the SDK, challenged by verifiers, overturned and never paid', async () => {
    const before = await settledEvents(net)
    const report = await runMoneyAttack(net, 'model-swapper', key(2))
    expect(report).toMatchObject({ stolen: 0n, honestSlashed: 0n, settledTwice: 0 })
    expect(outcomes(report)).toEqual([
      'the SDK refused it: InvalidReceiptError',
      expect.stringMatching(/^committed as batch/),
      expect.stringMatching(/^data challenge \d+ opened/),
      'refused: ReceiptMismatch',
      'receipt overturned: client refunded, attacker slashed',
      'finalized',
      'refused: ReceiptOverturnedAlready',
    ])
    const after = await settledEvents(net)
    // The client never paid the swapper: nothing to refund; the fee is owed back on that channel.
    const overturned = after.overturned.slice(before.overturned.length)
    expect(overturned.map((e) => ({ client: e.args.client, refund: e.args.refund }))).toEqual([
      { client: net.client.account.address, refund: 0n },
    ])
    expect(await channelCredit(net, net.client.account.address, report.attacker)).toBe(10n ** 15n)
    // Slashed for the overturned receipt; also for the decoy its batch should have hidden at that
    // position when a verifier proves it missing before the attacker stops serving its batch data.
    expect([net.book.params.slashAmount, 2n * net.book.params.slashAmount]).toContain(report.attackerSlashed)
  })

  it('stake-exhauster: commits beyond what its stake can slash in full are refused', async () => {
    const report = await runMoneyAttack(net, 'stake-exhauster', key(3))
    expect(report).toMatchObject({ stolen: 0n, honestSlashed: 0n, settledTwice: 0 })
    expect(outcomes(report)).toEqual(['refused: ExposureAboveStake', 'first committed; second refused: ExposureAboveStake'])
  })

  it('a data challenge of an honest receipt is answered on-chain by its node: nothing overturned, the data bond (its gas) pays the node', async () => {
    const answer = await infer(net.client, { modelId: net.modelId, inputs: { Input3: mnistImage(net.mnist, 9) }, node: net.nodes[1]!.url })
    const committed = await waitForTrust(net.client, {
      inferenceId: answer.inferenceId,
      node: answer.node.url,
      level: 'COMMITTED',
      timeoutMs: 30_000,
      pollIntervalMs: 100,
    })
    const { batchId, index } = committed.batch!
    const data = (await (await fetch(`${net.nodes[1]!.url}/v1/batches/${committed.batch!.root}`)).json()) as {
      receipts: { receipt: unknown }[]
      decoyCommit: Hex
    }
    const receipts = data.receipts.map((r) => receiptFromWire(r.receipt))
    const domain = { chainId: net.chain.chainId, settlement: net.book.contracts.settlement }
    const tree = buildBatchTree(
      receipts.map((r) => hashReceipt(r, domain)),
      data.decoyCommit,
    )
    const griefer = new TxSender({ chain: net.chain, account: key(4) })
    const settlement = { address: net.book.contracts.settlement, abi: settlementAbi } as const
    await griefer.write({
      address: net.book.contracts.token,
      abi: verityTokenAbi,
      functionName: 'approve',
      args: [settlement.address, 2n ** 255n],
    })
    const node = net.nodes[1]!.node.address
    const claimableBefore = await net.chain.publicClient.readContract({ ...settlement, functionName: 'claimable', args: [node] })
    const opened = await griefer.write({
      ...settlement,
      functionName: 'challengeData',
      args: [BigInt(batchId), receipts[index]!, index, tree.proof(index)],
    })
    const [event] = parseEventLogs({ abi: settlementAbi, eventName: 'DataChallenged', logs: opened.receipt.logs })
    let published: unknown[] = []
    for (let i = 0; i < 100 && published.length === 0; i++) {
      published = await net.chain.publicClient.getContractEvents({
        ...settlement,
        eventName: 'DataPublished',
        args: { challengeId: event!.args.challengeId },
        fromBlock: opened.receipt.blockNumber,
      })
      if (published.length === 0) await new Promise((r) => setTimeout(r, 100))
    }
    expect(published).toHaveLength(1)
    expect(await net.chain.publicClient.readContract({ ...settlement, functionName: 'isOverturned', args: [BigInt(batchId), index] })).toBe(
      false,
    )
    // The bond is credited to the node with the answer (read from the answer's own event: the node's
    // claimable balance also moves with its other batches meanwhile — a decoy conceded refunds its fee
    // to the decoy's client from the node's earnings).
    const [rejected] = await net.chain.publicClient.getContractEvents({
      ...settlement,
      eventName: 'ChallengeRejected',
      args: { challengeId: event!.args.challengeId },
      fromBlock: opened.receipt.blockNumber,
      strict: true,
    })
    expect(rejected?.args).toMatchObject({ node, bond: net.book.params.dataChallengeBond })
    expect(await net.chain.publicClient.readContract({ ...settlement, functionName: 'claimable', args: [node] })).toBeGreaterThan(
      claimableBefore,
    )
    // The answered challenge leaves the batch to settle as usual: the chain's clock moves past its
    // window (this is the file's last test) rather than the test waiting it out.
    await net.chain.increaseTime(net.book.params.challengeWindow + 1)
    await waitForTrust(net.client, {
      inferenceId: answer.inferenceId,
      node: answer.node.url,
      level: 'FINAL',
      timeoutMs: 60_000,
      pollIntervalMs: 250,
    })
  })
})
