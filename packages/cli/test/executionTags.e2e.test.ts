import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { settlementAbi } from '@verity/contracts'
import { mnistImage } from '@verity/runtime'
import { infer } from '@verity/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Devnet, startDevnet } from '../src/devnet/startDevnet.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Execution tags on a devnet (docs/protocol.md): decoys off, so the tags are the only thing that can
 * expose a verifier attesting without executing. The honest verifier re-executes and tags every
 * receipt of its assignment (all of them here); the lazy verifier (its own key, @verity/adversary)
 * attests its assignment at once with guessed tags. Each node audits every attestation's tags when
 * it finalizes a batch and refutes a wrong one on-chain.
 */
describe('execution tags: a lazy verifier without decoys to catch it', () => {
  let dir: string
  let net: Devnet
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verity-tags-'))
    net = await startDevnet({
      dir: join(dir, 'net'),
      nodes: 1,
      verifiers: 1,
      lazyVerifier: true,
      decoyRateBps: 0,
      sampleRate: 1,
      window: 4,
      batchSize: 4,
      batchAgeMs: 300,
    })
  }, 120_000)
  afterAll(async () => {
    await net?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('refutes every attestation of the lazy verifier and none of the honest one; the lazy verifier nets < 0', async () => {
    for (let i = 0; i < 8; i++)
      await infer(net.clients[i % net.clients.length]!, {
        modelId: net.modelId,
        inputs: { Input3: mnistImage(net.mnist, i) },
        node: net.nodes[0]!.url,
      })
    const events = <name extends 'Attested' | 'ExecutionTagRefuted' | 'AttesterSlashed' | 'BatchFinalized'>(eventName: name) =>
      net.chain.publicClient.getContractEvents({
        address: net.book.contracts.settlement,
        abi: settlementAbi,
        eventName,
        fromBlock: net.book.deployedAtBlock,
        strict: true,
      })
    const lazy = net.lazyVerifier!.address.toLowerCase()
    const honest = net.verifiers[0]!.address.toLowerCase()
    // Until every committed batch is final (the lazy verifier has attested by then: it attests at the commit).
    const deadline = Date.now() + 90_000
    for (;;) {
      const [committed, finalized] = await Promise.all([
        net.chain.publicClient.getContractEvents({
          address: net.book.contracts.settlement,
          abi: settlementAbi,
          eventName: 'BatchCommitted',
          fromBlock: net.book.deployedAtBlock,
        }),
        events('BatchFinalized'),
      ])
      if (committed.length >= 2 && finalized.length === committed.length) break
      expect(Date.now(), `${finalized.length} of ${committed.length} batches final`).toBeLessThan(deadline)
      await sleep(250)
    }
    const [attested, refuted, slashed] = await Promise.all([events('Attested'), events('ExecutionTagRefuted'), events('AttesterSlashed')])
    const by = <E extends { args: { verifier: string } }>(list: E[], who: string) =>
      list.filter((e) => e.args.verifier.toLowerCase() === who)
    // Both attested every batch (every leaf is assigned to every verifier here).
    expect(by(attested, lazy).length).toBeGreaterThanOrEqual(2)
    expect(by(attested, honest).length).toBe(by(attested, lazy).length)
    // Each of the lazy verifier's attestations refuted once, by the node, and slashed; the honest one never.
    expect(
      by(refuted, lazy)
        .map((e) => e.args.batchId)
        .sort(),
    ).toEqual(
      by(attested, lazy)
        .map((e) => e.args.batchId)
        .sort(),
    )
    for (const e of refuted) expect(e.args.by.toLowerCase()).toBe(net.nodes[0]!.node.address.toLowerCase())
    expect(by(refuted, honest)).toEqual([])
    expect(by(slashed, honest)).toEqual([])
    expect(by(slashed, lazy)).toHaveLength(by(attested, lazy).length)
    const report = await net.lazyVerifier!.report()
    expect(report.refuted).toBe(by(attested, lazy).length)
    expect(report.paid).toBe(0n)
    expect(report.net).toBeLessThan(0n)
  })
})
