import { createHash } from 'node:crypto'
import { encodeArtifact, loadModel, type Model } from '@verity/runtime'
import { describe, expect, it } from 'vitest'
import { identifyModel, modelIdOf } from './modelId.js'

/** A one-op model; `change` edits it before encoding. */
const tiny = (change: (m: Model) => void = () => {}) => {
  const model: Model = {
    name: 'tiny',
    source: { file: 'tiny.onnx', sha256: '00'.repeat(32), opset: 13 },
    inputs: [0],
    outputs: [1],
    tensors: [
      { name: 'x', kind: 'input', dtype: 'int16', shape: [1, 4], scale: 1 },
      { name: 'y', kind: 'activation', dtype: 'int16', shape: [1, 4], scale: 1 },
    ],
    nodes: [{ name: 'relu', op: 'Relu', inputs: [0], output: 1, attrs: {} }],
    constants: new Map(),
  }
  change(model)
  return identifyModel(loadModel(encodeArtifact(model)))
}

describe('model id', () => {
  it('is sha256 of weightsRoot ‖ graphRoot ‖ specHash ‖ artifactHash, each derived from the artifact', () => {
    const id = tiny()
    const header = Buffer.concat([id.weightsRoot, id.graphRoot, id.specHash, id.artifactHash].map((h) => Buffer.from(h.slice(2), 'hex')))
    expect(header.length).toBe(128)
    expect(id.modelId).toBe(`0x${createHash('sha256').update(header).digest('hex')}`)
    expect(id).toMatchInlineSnapshot(`
      {
        "artifactHash": "0xf8d6e9e5178d4399ad145078b3a44d6c84cf3b6a19ec34baf8e368c197ffbe5a",
        "graphRoot": "0xdf7ee492a310aab8ca2f216e902ca1de73a9248164ea8e0906d42278dd214816",
        "modelId": "0xaae2cd23152f8d31caf72d9eeac501c5b518f002b150625014852f30bb06cd8e",
        "specHash": "0x473ca80ae1175d90abdc53b58692835f326d876438ecac60c90b9a175fdcab3c",
        "weightsRoot": "0x0000000000000000000000000000000000000000000000000000000000000000",
      }
    `)
  })

  it('changes with every root: a different root names a different id', () => {
    const base = tiny()
    // A new name changes the bytes only; a new input scale changes the spec too; a new output shape the graph too.
    const renamed = tiny((m) => {
      m.name = 'other'
    })
    expect(renamed).toMatchObject({ weightsRoot: base.weightsRoot, graphRoot: base.graphRoot, specHash: base.specHash })
    expect(renamed.artifactHash).not.toBe(base.artifactHash)
    const rescaled = tiny((m) => {
      m.tensors[0]!.scale = 0.5
    })
    expect(rescaled.specHash).not.toBe(base.specHash)
    const reshaped = tiny((m) => {
      m.tensors[0]!.shape = [1, 8]
      m.tensors[1]!.shape = [1, 8]
    })
    expect(reshaped.graphRoot).not.toBe(base.graphRoot)
    for (const id of [renamed, rescaled, reshaped]) expect(id.modelId).not.toBe(base.modelId)
    for (const key of ['artifactHash', 'weightsRoot', 'graphRoot', 'specHash'] as const) {
      expect(modelIdOf({ ...base, [key]: `0x${'11'.repeat(32)}` })).not.toBe(base.modelId)
    }
  })
})
