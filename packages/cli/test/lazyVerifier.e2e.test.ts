import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startLazyVerifier } from '@verity/adversary'
import { settlementAbi } from '@verity/contracts'
import { mnistImage } from '@verity/runtime'
import { infer, waitForTrust } from '@verity/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Devnet, startDevnet } from '../src/devnet/startDevnet.js'

/**
 * Issue 13's lazy verifier, run with its own key against a devnet with decoys on (the deployment
 * default): it attests every receipt without running one; the honest verifier re-executes and
 * challenges the decoys (the node concedes and pays it); at finalization the node reveals its
 * decoys and slashes every attester of one. Laziness loses money; honesty earns.
 */
describe('a lazy verifier on a devnet with decoys', () => {
  let net: Devnet
  let lazy: Awaited<ReturnType<typeof startLazyVerifier>>

  beforeAll(async () => {
    net = await startDevnet({
      dir: join(mkdtempSync(join(tmpdir(), 'verity-lazy-')), 'net'),
      nodes: 1,
      verifiers: 1,
      window: 10,
      sampleRate: 1,
      batchSize: 8,
    })
    expect(net.book.params.decoyRateBps).toBeGreaterThan(0)
    lazy = await startLazyVerifier({ chain: net.chain, book: net.book, key: net.chain.accounts[1 + 1 + 2]!.privateKey })
  }, 120_000)
  afterAll(async () => {
    await lazy?.stop()
    await net?.stop()
  })

  it('is slashed for the decoys it attested and ends below zero; the honest verifier is never slashed and earns decoy rewards', async () => {
    const answers = []
    for (let i = 0; i < 16; i++)
      answers.push(await infer(net.client, { modelId: net.modelId, inputs: { Input3: mnistImage(net.mnist, i) }, node: net.nodes[0]!.url }))
    for (const a of answers)
      await waitForTrust(net.client, {
        inferenceId: a.inferenceId,
        node: a.node.url,
        level: 'FINAL',
        timeoutMs: 120_000,
        pollIntervalMs: 500,
      })
    const events = (eventName: 'BatchFinalized' | 'AttesterSlashed' | 'DecoyProven' | 'ReceiptOverturned') =>
      net.chain.publicClient.getContractEvents({
        abi: settlementAbi,
        address: net.book.contracts.settlement,
        eventName,
        fromBlock: 0n,
        strict: true,
      } as never) as Promise<{ args: Record<string, unknown> }[]>
    const finalized = await events('BatchFinalized')
    const report = await lazy.report()
    expect(report.attested).toBeGreaterThanOrEqual(finalized.length)
    // Every batch hides at least one decoy, so every finalized batch the lazy verifier attested cost it its slash.
    expect(report.slashed).toBe(finalized.length)
    expect(report.stakeLost).toBe(net.book.params.attesterSlash * BigInt(finalized.length))
    expect(report.net).toBeLessThan(0n)
    const slashedVerifiers = new Set((await events('AttesterSlashed')).map((e) => String(e.args.verifier).toLowerCase()))
    expect([...slashedVerifiers]).toEqual([report.address.toLowerCase()])
    // The honest verifier re-executed the decoys, challenged them, and the node conceded each (paying decoyReward).
    const honest = net.verifiers[0]!.address
    const conceded = (await events('ReceiptOverturned')).filter((e) => e.args.bounty === net.book.params.decoyReward)
    expect(conceded.length).toBeGreaterThanOrEqual(finalized.length)
    const honestPaid = await net.chain.publicClient.readContract({
      address: net.book.contracts.settlement,
      abi: settlementAbi,
      functionName: 'claimable',
      args: [honest],
    })
    expect(honestPaid).toBeGreaterThanOrEqual(net.book.params.decoyReward * BigInt(conceded.length))
  }, 240_000)
})
