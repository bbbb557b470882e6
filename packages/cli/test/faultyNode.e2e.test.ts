import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { mnistImage, quantizeInputs, runQuantized } from '@verity/runtime'
import { getInference, type InferReturnType, infer, waitForTrust } from '@verity/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Devnet, startDevnet } from '../src/devnet/startDevnet.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const shared = join(root, '..', 'shared')

describe('a deliberately faulty node (flip-output) is caught', () => {
  let net: Devnet
  beforeAll(async () => {
    net = await startDevnet({
      dir: join(mkdtempSync(join(tmpdir(), 'verity-fault-')), 'net'),
      shared,
      nodes: 2,
      verifiers: 2,
      window: 20,
      sampleRate: 1,
      batchSize: 16,
      fault: { kind: 'flip-output', rate: 0.25, seed: 3 },
    })
  })
  afterAll(async () => net?.stop())

  it('verifiers challenge every wrong output and the SDK shows exactly those receipts as DISPUTED', async () => {
    const model = await net.client.model(net.modelId)
    const answers: { i: number; result: InferReturnType; wrong: boolean }[] = []
    for (let i = 0; i < 40; i++) {
      const result = await infer(net.client, {
        modelId: net.modelId,
        inputs: { Input3: mnistImage(net.mnist, i) },
        node: net.nodes[i % 2]!.url,
      })
      const local = Array.from(runQuantized(model, quantizeInputs(model, { Input3: mnistImage(net.mnist, i) })).outputs[0]!)
      answers.push({ i, result, wrong: JSON.stringify(Object.values(result.outputs)[0]!.raw) !== JSON.stringify(local) })
    }
    const wrong = answers.filter((a) => a.wrong)
    expect(wrong.length).toBeGreaterThan(0)
    expect(wrong.every((a) => a.result.node.url === net.nodes[0]!.url)).toBe(true)
    for (const { result, wrong: isWrong } of answers) {
      // Each receipt reaches ATTESTED (checked, matched) or DISPUTED (challenged) within the window.
      const state = await waitForTrust(net.client, {
        inferenceId: result.inferenceId,
        node: result.node.url,
        level: 'ATTESTED',
        timeoutMs: 60_000,
        pollIntervalMs: 250,
      })
      expect(state.level, `receipt ${result.inferenceId} (${isWrong ? 'wrong' : 'right'} output)`).toBe(isWrong ? 'DISPUTED' : 'ATTESTED')
    }
    const evidence = net.verifiers.flatMap((v) => v.store.allEvidence())
    expect(new Set(evidence.map((e) => e.recomputed)).size).toBe(wrong.length)
    expect(evidence.every((e) => e.challengeId !== null && e.tx !== null)).toBe(true)
    // A frozen batch does not settle while its challenge is open; the honest node's batches do.
    const honest = answers.find((a) => a.result.node.url === net.nodes[1]!.url)!
    const final = await waitForTrust(net.client, {
      inferenceId: honest.result.inferenceId,
      node: honest.result.node.url,
      level: 'FINAL',
      timeoutMs: 60_000,
    })
    expect(final.level).toBe('FINAL')
    const disputed = await getInference(net.client, { inferenceId: wrong[0]!.result.inferenceId, node: wrong[0]!.result.node.url })
    expect(disputed.level).toBe('DISPUTED')
    expect(disputed.timeline.some((e) => e.level === 'DISPUTED')).toBe(true)
  })
})
