import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mnistImage } from '@verity/runtime'
import { getInference, infer } from '@verity/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Devnet, startDevnet } from '../src/devnet/startDevnet.js'
import { settlementEvents, untilBatchesFinal } from './settlementEvents.js'

/**
 * Quorum receipts under assignment (docs/protocol.md, "Attest"): at the adaptive rate a new node's
 * 2-receipt batch assigns each of two verifiers about 0.1 leaves, so most batches assign a verifier
 * nothing. Each verifier still re-executes every quorum receipt and attests it unpaid
 * (`Attested.paid` false), so a quorum:2 receipt gathers both attestations; the node lists only paid
 * attesters when it finalizes.
 */
describe('quorum receipts attested by verifiers assigned nothing', () => {
  let dir: string
  let net: Devnet
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verity-quorum-'))
    net = await startDevnet({ dir: join(dir, 'net'), nodes: 1, verifiers: 2, decoyRateBps: 0, window: 4, batchSize: 2, batchAgeMs: 300 })
  }, 120_000)
  afterAll(async () => {
    await net?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('gathers every verifier’s attestation on a quorum:2 receipt, unpaid where nothing was assigned, and finalizes', async () => {
    const answers = []
    for (let i = 0; i < 4; i++)
      answers.push(
        await infer(net.clients[i % net.clients.length]!, {
          modelId: net.modelId,
          inputs: { Input3: mnistImage(net.mnist, i) },
          node: net.nodes[0]!.url,
          mode: 'quorum:2',
        }),
      )
    await untilBatchesFinal(net, 2)
    const events = <name extends 'Attested' | 'BatchCommitted'>(eventName: name) => settlementEvents(net, eventName)
    const attested = await events('Attested')
    const batches = new Set((await events('BatchCommitted')).map((e) => e.args.batchId))
    // Both verifiers attested every batch (each holds only quorum receipts), most of them unpaid.
    for (const batchId of batches) {
      const mine = attested.filter((e) => e.args.batchId === batchId)
      expect(new Set(mine.map((e) => e.args.verifier.toLowerCase())).size, `batch ${batchId}`).toBe(2)
    }
    expect(attested.some((e) => !e.args.paid)).toBe(true)
    // Each batch counts only its paid attesters (its finalization listed those alone: Settlement
    // refuses an unpaid one listed).
    for (const batchId of batches) {
      const { attesters } = await net.client.contracts.settlement.read.getBatch([batchId])
      expect(attesters, `batch ${batchId}`).toBe(attested.filter((e) => e.args.batchId === batchId && e.args.paid).length)
    }
    for (const answer of answers) {
      const state = await getInference(net.client, { inferenceId: answer.inferenceId, node: answer.node.url })
      expect(state.attestations).toBe(2)
      expect(state.level).toBe('FINAL')
    }
  })
})
