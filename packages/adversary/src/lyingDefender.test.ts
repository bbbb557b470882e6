import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { GameState } from '@verity/dispute'
import { honestReplay, ReceiptStore } from '@verity/node'
import { type LoadedModel, type TensorInfo, tensorsHash } from '@verity/runtime'
import type { Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { mnist8, signedInfer } from '../../node/test/inferFixture.js'
import { corruptingExecutor } from './corruptingExecutor.js'
import type { Fault } from './fault.js'
import { lyingReplay } from './lyingDefender.js'

/** Stores an answer as a node does (only what the replay reads: input hash, output hash, outputs). */
function storeAnswer(store: ReceiptStore, model: LoadedModel, inputHash: Hex, outputs: Int16Array[], n: number): Hex {
  const outputHash = tensorsHash(outputs)
  const outputsJson = JSON.stringify(
    Object.fromEntries(
      model.model.outputs.map((id, i) => [(model.model.tensors[id] as TensorInfo).name, { raw: Array.from(outputs[i]!) }]),
    ),
  )
  const id = `0x${n.toString(16).padStart(64, '0')}` as Hex
  store.insertInference(
    {
      id,
      requestHash: id,
      client: `0x${'22'.repeat(20)}`,
      nonce: String(n),
      modelId: `0x${'ab'.repeat(32)}`,
      inputHash,
      outputHash,
      fee: '1',
      channelTotal: String(n),
      mode: 1,
      issuedAt: 0,
      executedAtMs: 0,
      receiptJson: '{}',
      signature: '0x',
      requestJson: '{}',
      clientSignature: '0x',
      outputsJson,
      computeMs: 0,
    },
    '{}',
  )
  return outputHash
}

const traceOutputs = (model: LoadedModel, trace: { tensors: Map<number, Int16Array> } | undefined) =>
  trace && tensorsHash(model.model.outputs.map((id) => trace.tensors.get(id)!))

describe('lyingReplay', () => {
  it('replays what the cheating node answered: its lie for a lie, the honest run for an honest answer, nothing when silent', async () => {
    const { model } = mnist8()
    const store = new ReceiptStore(join(mkdtempSync(join(tmpdir(), 'verity-liar-')), 'receipts.sqlite'))
    const { inputs, request } = await signedInfer(0)
    const inputHash = request.inputHash
    const answers = (fault: Fault) => corruptingExecutor({ ...fault, rate: 1 })(model, inputs, { inputHash })
    const honest = honestReplay(model, inputs, {} as GameState)!
    const honestHash = traceOutputs(model, honest)!
    let n = 0
    const outcome = (fault: Fault, outputHash: Hex) =>
      traceOutputs(model, lyingReplay(fault, store)(model, inputs, { inputHash, outputHash } as GameState))
    const flipped = storeAnswer(store, model, inputHash, answers({ kind: 'flip-output', rate: 1 }), ++n)
    const deep = storeAnswer(store, model, inputHash, answers({ kind: 'deep-value', rate: 1 }), ++n)
    expect(new Set([honestHash, flipped, deep]).size).toBe(3)
    expect({
      'flip-output lie': outcome({ kind: 'flip-output', rate: 1 }, flipped),
      'flip-output honest answer': outcome({ kind: 'flip-output', rate: 1 }, honestHash),
      'deep-value lie': outcome({ kind: 'deep-value', rate: 1 }, deep),
      'silent lie': outcome({ kind: 'silent', rate: 1 }, flipped),
      'an output it never answered': outcome({ kind: 'flip-output', rate: 1 }, `0x${'ee'.repeat(32)}`),
    }).toEqual({
      'flip-output lie': flipped,
      'flip-output honest answer': honestHash,
      'deep-value lie': deep,
      'silent lie': undefined,
      'an output it never answered': undefined,
    })
    // The deep-value replay differs from the honest run inside the graph, not only at the output.
    const replayed = lyingReplay({ kind: 'deep-value', rate: 1 }, store)(model, inputs, { inputHash, outputHash: deep } as GameState)!
    expect(replayed.root).not.toBe(honest.root)
  })
})
