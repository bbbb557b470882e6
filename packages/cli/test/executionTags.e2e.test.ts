import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mnistImage } from '@verity/runtime'
import { audit, infer, refuteAttestation } from '@verity/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Devnet, startDevnet } from '../src/devnet/startDevnet.js'
import { settlementEvents, untilBatchesFinal } from './settlementEvents.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Execution tags on a devnet (docs/protocol.md): decoys off, so the tags are the only thing that can
 * expose a verifier attesting without executing. The honest verifier re-executes and tags every
 * receipt of its assignment (all of them here); the lazy verifier (its own key, @verity/adversary)
 * attests its assignment at once with guessed tags. A client auditing its receipt (`audit`) finds the
 * lazy verifier's tag wrong and the honest one's right, and refutes the first batch itself
 * (`refuteAttestation`, its own key: it earns the bounty); the node audits every attestation's tags
 * when it finalizes a batch and refutes the rest on-chain.
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
      window: 12,
      batchSize: 4,
      batchAgeMs: 300,
    })
  }, 120_000)
  afterAll(async () => {
    await net?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('refutes every attestation of the lazy verifier and none of the honest one; the lazy verifier nets < 0', async () => {
    const answers = []
    for (let i = 0; i < 8; i++)
      answers.push(
        await infer(net.clients[i % net.clients.length]!, {
          modelId: net.modelId,
          inputs: { Input3: mnistImage(net.mnist, i) },
          node: net.nodes[0]!.url,
        }),
      )
    const events = <name extends 'Attested' | 'ExecutionTagRefuted' | 'AttesterSlashed'>(eventName: name) =>
      settlementEvents(net, eventName)
    const lazy = net.lazyVerifier!.address.toLowerCase()
    const honest = net.verifiers[0]!.address.toLowerCase()
    // The first answer's client audits it once both verifiers attested its batch (within the window).
    const first = answers[0]!
    const client = net.clients[0]!
    let audited = await audit(client, { inferenceId: first.inferenceId, node: first.node.url })
    for (const until = Date.now() + 30_000; audited.attestations.length < 2; ) {
      expect(Date.now(), JSON.stringify(audited.attestations)).toBeLessThan(until)
      await sleep(200)
      audited = await audit(client, { inferenceId: first.inferenceId, node: first.node.url })
    }
    expect(audited.match).toBe(true)
    const tagOf = (who: string) => audited.attestations.find((a) => a.verifier.toLowerCase() === who)?.tagRight
    expect({ lazy: tagOf(lazy), honest: tagOf(honest) }).toEqual({ lazy: false, honest: true })
    await expect(
      refuteAttestation(client, { inferenceId: first.inferenceId, node: first.node.url, verifier: net.verifiers[0]!.address }),
    ).rejects.toMatchObject({ code: 'TAG_RIGHT' })
    const byClient = await refuteAttestation(client, {
      inferenceId: first.inferenceId,
      node: first.node.url,
      verifier: net.lazyVerifier!.address,
    })
    expect(byClient.slashed).toBe(net.book.params.attesterSlash)
    // Until every committed batch is final (the lazy verifier has attested by then: it attests at the commit).
    await untilBatchesFinal(net, 2)
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
    // The client refuted the first batch; the node every other one.
    const refuters = refuted.map((e) => e.args.by.toLowerCase())
    expect(refuters.filter((by) => by === client.account.address.toLowerCase())).toHaveLength(1)
    expect(refuters.filter((by) => by === net.nodes[0]!.node.address.toLowerCase())).toHaveLength(refuted.length - 1)
    expect(by(refuted, honest)).toEqual([])
    expect(by(slashed, honest)).toEqual([])
    expect(by(slashed, lazy)).toHaveLength(by(attested, lazy).length)
    const report = await net.lazyVerifier!.report()
    expect(report.refuted).toBe(by(attested, lazy).length)
    expect(report.paid).toBe(0n)
    expect(report.net).toBeLessThan(0n)
  })
})
