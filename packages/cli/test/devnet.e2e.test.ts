import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { disputeGameAbi, GameReason, settlementAbi } from '@verity/contracts'
import { decoyCount } from '@verity/protocol'
import { mnistImage, quantizeInputs, runQuantized } from '@verity/runtime'
import { getInference, type InferReturnType, infer, verifyReceipt, waitForTrust } from '@verity/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { lintMetrics } from '../../node/test/promLint.js'
import { type Devnet, startDevnet } from '../src/devnet/startDevnet.js'

describe('devnet end to end: 200 real MNIST digits through two nodes and three verifiers', () => {
  let net: Devnet
  const answers: { i: number; result: InferReturnType }[] = []
  beforeAll(async () => {
    net = await startDevnet({
      dir: join(mkdtempSync(join(tmpdir(), 'verity-e2e-')), 'net'),
      nodes: 2,
      verifiers: 3,
      window: 3,
      sampleRate: 0.3,
      batchSize: 32,
    })
  })
  afterAll(async () => net?.stop())

  it('answers every request at once with a checked receipt, and the outputs equal the runtime’s', async () => {
    const model = await net.client.model(net.modelId)
    let next = 0
    const worker = async () => {
      for (let i = next++; i < 200; i = next++) {
        const result = await infer(net.client, {
          modelId: net.modelId,
          inputs: { Input3: mnistImage(net.mnist, i) },
          node: net.nodes[i % 2]!.url,
        })
        answers.push({ i, result })
      }
    }
    await Promise.all([worker(), worker(), worker(), worker()])
    expect(answers).toHaveLength(200)
    expect(new Set(answers.map((a) => a.result.node.url)).size).toBe(2)
    let correct = 0
    for (const { i, result } of answers) {
      const local = runQuantized(model, quantizeInputs(model, { Input3: mnistImage(net.mnist, i) })).outputs[0]!
      const output = Object.values(result.outputs)[0]!
      expect(output.raw).toEqual(Array.from(local))
      if (output.values.indexOf(Math.max(...output.values)) === net.mnist.labels[i]) correct++
    }
    console.log(`accuracy on the first 200 MNIST test digits through the network: ${((100 * correct) / 200).toFixed(1)} % (${correct}/200)`)
    expect(correct).toBeGreaterThanOrEqual(195)
  })

  it('takes every receipt to FINAL, and each verifies from the SDK alone: node signature and on-chain inclusion', async () => {
    const levels = new Map<string, number>()
    for (const { result } of answers) {
      const final = await waitForTrust(net.client, {
        inferenceId: result.inferenceId,
        node: result.node.url,
        level: 'FINAL',
        timeoutMs: 90_000,
        pollIntervalMs: 250,
      })
      levels.set(final.level, (levels.get(final.level) ?? 0) + 1)
      expect(final.timeline.map((e) => e.level).filter((l) => l !== 'ATTESTED')).toEqual(['EXECUTED', 'COMMITTED', 'FINAL'])
      const check = await verifyReceipt(net.client, {
        receipt: final.receipt,
        signature: final.signature,
        inclusion: { batchId: final.batch!.batchId, index: final.batch!.index, proof: final.batch!.proof },
      })
      expect(check).toEqual({ signedByNode: true, nodeRegistered: true, nodeActive: true, included: true, problems: [] })
    }
    expect(Object.fromEntries(levels)).toEqual({ FINAL: 200 })
    const attested = await Promise.all(
      answers.map(({ result }) => getInference(net.client, { inferenceId: result.inferenceId, node: result.node.url })),
    )
    const checkedByVerifiers = net.verifiers.reduce((sum, v) => sum + v.store.stats().checked, 0)
    expect(checkedByVerifiers).toBeGreaterThan(0)
    // The only challenges are of decoys (forced errors), each conceded by its node: no honest game is lost.
    const resolved = await net.chain.publicClient.getContractEvents({
      address: net.book.contracts.disputeGame,
      abi: disputeGameAbi,
      eventName: 'GameResolved',
      fromBlock: 0n,
      strict: true,
    })
    const challenges = net.verifiers.reduce((sum, v) => sum + v.store.stats().challenges, 0)
    expect(resolved.filter((e) => e.args.reason !== GameReason.conceded)).toEqual([])
    expect(resolved.length).toBeLessThanOrEqual(challenges)
    expect(attested.filter((a) => a.attestations > 0).length).toBeGreaterThan(50)
  })

  it("the dashboard's verification ÷ inference is the chain's: attested and challenged receipts over receipts less revealed decoys", async () => {
    await net.indexer.caughtUp()
    const events = { address: net.book.contracts.settlement, abi: settlementAbi, fromBlock: 0n, strict: true } as const
    const get = <name extends 'BatchCommitted' | 'Attested' | 'ChallengeOpened' | 'DecoysRevealed'>(eventName: name) =>
      net.chain.publicClient.getContractEvents({ ...events, eventName })
    const [committed, attested, challenged, revealed] = await Promise.all([
      get('BatchCommitted'),
      get('Attested'),
      get('ChallengeOpened'),
      get('DecoysRevealed'),
    ])
    const leaves = new Map(committed.map((e) => [e.args.batchId, e.args.count]))
    const decoys = revealed.reduce((n, e) => n + decoyCount(leaves.get(e.args.batchId)!, net.book.params.decoyRateBps), 0)
    const receipts = committed.reduce((n, e) => n + e.args.count, 0)
    const reexecutions = attested.reduce((n, e) => n + e.args.receipts, 0) + challenged.length
    // Every batch was finalized, so every batch revealed its decoys; one model, so its cost cancels.
    expect(revealed.length).toBe(committed.length)
    expect(decoys).toBeGreaterThan(0)
    const summary = (await (await fetch(`${net.dashboardUrl}/api/summary`)).json()) as { verification: Record<string, unknown> }
    expect(summary.verification).toMatchObject({
      inferences: receipts - decoys,
      decoys,
      reexecutions,
      unpriced: 0,
      share: Math.floor((reexecutions * 1_000_000) / (receipts - decoys)) / 1_000_000,
    })
    // The workload's 200 and the nodes' canaries (their decoy clients' paid requests: real receipts too).
    const canaries = net.nodes.reduce((n, x) => n + (x.node.decoyCosts()?.canaries ?? 0), 0)
    expect(canaries).toBeGreaterThan(0)
    expect(receipts - decoys).toBe(200 + canaries)
  })

  it('refuses a receipt the chain does not hold: a forged inclusion proof fails verification', async () => {
    const { result } = answers[0]!
    const state = await getInference(net.client, { inferenceId: result.inferenceId, node: result.node.url })
    const forged = await verifyReceipt(net.client, {
      receipt: { ...state.receipt, outputHash: `0x${'11'.repeat(32)}` },
      signature: state.signature,
      inclusion: { batchId: state.batch!.batchId, index: state.batch!.index, proof: state.batch!.proof },
    })
    expect(forged.signedByNode).toBe(false)
    expect(forged.included).toBe(false)
  })

  it('every role serves /metrics that pass promtool check metrics: nodes, verifiers, hub, dashboard', async () => {
    const roles = [...net.nodes.map((n) => n.url), ...net.verifierUrls, net.hubUrl, net.dashboardUrl]
    for (const url of roles) {
      const text = await (await fetch(`${url}/metrics`)).text()
      expect(text).toMatch(/^# TYPE verity_/m)
      expect({ url, problems: lintMetrics(text) }).toEqual({ url, problems: [] })
    }
  })
})
