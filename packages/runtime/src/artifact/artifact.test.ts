import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { canonicalJson } from '../canonicalJson.js'
import { loadMnist, mnistImage } from '../datasets/mnist.js'
import { BaseError } from '../errors.js'
import { importOnnx } from '../importOnnx.js'
import { loadModel } from '../loadModel.js'
import type { Model } from '../model.js'
import { decodeArtifact, encodeArtifact } from './artifact.js'

const data = join(import.meta.dirname, '..', '..', '..', '..', 'data')

function codeOf(f: () => unknown): string {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(BaseError)
    return `${(e as BaseError).code}: ${(e as BaseError).shortMessage}`
  }
  return 'no error'
}

describe('model artifacts', () => {
  const set = loadMnist(join(data, 'datasets', 'mnist'))
  const { artifact, model } = importOnnx(readFileSync(join(data, 'models', 'mnist-8.onnx')), {
    calibration: [0, 1, 2, 3].map((i) => ({ Input3: mnistImage(set, i) })),
    reportSamples: 0,
  })
  /** A copy of the model with `f` applied, re-encoded canonically. */
  const crafted = (f: (m: Model) => void) => {
    const m = structuredClone(model.model)
    f(m)
    return encodeArtifact(m)
  }
  const conv = model.model.nodes[0] as Model['nodes'][number]

  it('round-trip: decoding and re-encoding gives the same bytes', () => {
    expect(Buffer.from(encodeArtifact(decodeArtifact(artifact))).equals(Buffer.from(artifact))).toBe(true)
    expect(loadModel(artifact).artifactHash).toBe(model.artifactHash)
  })

  it('a header that is not in canonical form is rejected (one model id, one reading)', () => {
    const header = new TextDecoder().decode(
      artifact.subarray(12, 12 + new DataView(artifact.buffer, artifact.byteOffset).getUint32(8, true)),
    )
    const spaced = new TextEncoder().encode(header.replace('{"format"', '{ "format"'))
    const bytes = new Uint8Array(12 + spaced.length + (artifact.length - 12 - header.length))
    bytes.set(artifact.subarray(0, 12))
    new DataView(bytes.buffer).setUint32(8, spaced.length, true)
    bytes.set(spaced, 12)
    bytes.set(artifact.subarray(12 + header.length), 12 + spaced.length)
    expect(codeOf(() => decodeArtifact(bytes))).toMatch(/^ARTIFACT_INVALID: .*canonical form/)
  })

  it('crafted artifacts that break the semantics preconditions are rejected with ARTIFACT_INVALID', () => {
    const shiftOf = (m: Model) => m.constants.get(conv.inputs[4] as number) as Int32Array
    const mulOf = (m: Model) => m.constants.get(conv.inputs[3] as number) as Int32Array
    const cases: [string, (m: Model) => void][] = [
      ['an op name from Object.prototype', (m) => ((m.nodes[0] as { op: string }).op = 'toString')],
      ['a shift of 64', (m) => (shiftOf(m)[0] = 64)],
      ['a negative shift', (m) => (shiftOf(m)[0] = -1)],
      ['a multiplier past the 2^52 bound', (m) => (mulOf(m)[0] = 2 ** 31 - 1)],
      ['nodes out of order', (m) => m.nodes.reverse()],
      ['a node writing a constant', (m) => ((m.nodes[1] as { output: number }).output = conv.inputs[1] as number)],
      ['a wrong output shape', (m) => ((m.tensors[conv.output] as { shape: number[] }).shape = [1, 8, 28, 27])],
      ['a huge shape', (m) => ((m.tensors[conv.output] as { shape: number[] }).shape = [2 ** 20, 2 ** 20])],
      ['a float attribute', (m) => ((m.nodes[0] as { attrs: Record<string, number> }).attrs.sh = 1.5)],
      ['a zero stride', (m) => ((m.nodes[0] as { attrs: Record<string, number> }).attrs.sh = 0)],
      ['an int8 activation', (m) => ((m.tensors[conv.output] as { dtype: string }).dtype = 'int8')],
    ]
    for (const [name, f] of cases) {
      expect(
        codeOf(() => decodeArtifact(crafted(f))),
        name,
      ).toMatch(/^ARTIFACT_INVALID/)
    }
    // Header edits the encoder cannot produce: entries of the wrong type.
    const headerLength = new DataView(artifact.buffer, artifact.byteOffset).getUint32(8, true)
    const header = JSON.parse(new TextDecoder().decode(artifact.subarray(12, 12 + headerLength)))
    const withHeader = (edit: (h: Record<string, unknown[]>) => void) => {
      const h = structuredClone(header)
      edit(h)
      const text = new TextEncoder().encode(canonicalJson(h))
      const bytes = new Uint8Array(12 + text.length + artifact.length - 12 - headerLength)
      bytes.set(artifact.subarray(0, 12))
      new DataView(bytes.buffer).setUint32(8, text.length, true)
      bytes.set(text, 12)
      bytes.set(artifact.subarray(12 + headerLength), 12 + text.length)
      return bytes
    }
    for (const edit of [
      (h: Record<string, unknown[]>) => ((h.tensors as unknown[])[3] = null),
      (h: Record<string, unknown[]>) => ((h.nodes as unknown[])[2] = null),
      (h: Record<string, unknown[]>) => ((h.nodes as { inputs?: unknown }[])[2] = { ...(h.nodes as object[])[2], inputs: 'x' }),
      (h: Record<string, unknown[]>) => (h.tensors = 'none' as unknown as unknown[]),
    ]) {
      expect(codeOf(() => decodeArtifact(withHeader(edit)))).toMatch(/^ARTIFACT_INVALID/)
    }
  })
})
