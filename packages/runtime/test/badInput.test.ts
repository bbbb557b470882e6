import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { TensorInput } from '../src/index.js'
import { BaseError, decodeOnnx, importOnnx, loadMnist, loadModel, mnistImage, run } from '../src/index.js'
import { haveBackendTests, importMnist, mnistDir, mnistModelPath, sharedDir } from './fixtures.js'

function codeOf(f: () => unknown): string {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(BaseError)
    return (e as BaseError).code
  }
  throw new Error('expected a typed error')
}

describe('bad input is rejected with a typed error and a stable code', () => {
  const { model, artifact } = importMnist()
  const image = mnistImage(loadMnist(mnistDir), 0)
  const ok = run(model, { Input3: image })
  const runWith = (input: unknown) => () => run(model, { Input3: input as TensorInput })

  it('wrong shape', () => {
    expect(codeOf(runWith({ shape: [1, 28, 28], data: image.data }))).toBe('INPUT_SHAPE_MISMATCH')
    expect(codeOf(runWith({ shape: [1, 1, 28, 28], data: image.data.subarray(1) }))).toBe('INPUT_SHAPE_MISMATCH')
    try {
      runWith({ shape: [1, 1, 28, 27], data: image.data })()
    } catch (e) {
      expect((e as BaseError).details).toEqual({ input: 'Input3', expected: [1, 1, 28, 28], found: [1, 1, 28, 27] })
    }
  })

  it('wrong dtype', () => {
    expect(codeOf(runWith({ shape: [1, 1, 28, 28], data: Array.from(image.data, String) }))).toBe('INPUT_DTYPE_MISMATCH')
    expect(codeOf(runWith({ shape: [1, 1, 28, 28], data: new BigInt64Array(784) }))).toBe('INPUT_DTYPE_MISMATCH')
    expect(codeOf(runWith({ shape: [1, 1, 28, 28], data: image.data, dtype: 'int64' }))).toBe('INPUT_DTYPE_MISMATCH')
    expect(codeOf(runWith({ shape: [1, 1, 28, 28], data: 'pixels' }))).toBe('INPUT_DTYPE_MISMATCH')
    expect(codeOf(runWith(null))).toBe('INPUT_DTYPE_MISMATCH')
  })

  it('NaN and ±Infinity', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const data = Float64Array.from(image.data)
      data[300] = bad
      expect(codeOf(runWith({ shape: [1, 1, 28, 28], data }))).toBe('INPUT_NOT_FINITE')
    }
  })

  it('missing or unknown inputs', () => {
    expect(codeOf(() => run(model, {}))).toBe('INPUT_MISSING')
    expect(codeOf(() => run(model, { Input3: image, extra: image }))).toBe('INPUT_MISSING')
  })

  it('a truncated, empty or non-ONNX model file', () => {
    const onnx = readFileSync(mnistModelPath)
    expect(codeOf(() => decodeOnnx(onnx.subarray(0, onnx.length >> 1)))).toBe('ONNX_DECODE_FAILED')
    expect(codeOf(() => decodeOnnx(new Uint8Array(0)))).toBe('ONNX_DECODE_FAILED')
    expect(codeOf(() => decodeOnnx(new TextEncoder().encode('{"not": "onnx"}')))).toBe('ONNX_DECODE_FAILED')
    expect(codeOf(() => decodeOnnx(readFileSync(new URL(import.meta.url))))).toBe('ONNX_DECODE_FAILED')
  })

  it.runIf(haveBackendTests('the unsupported-operator test (test_gru_defaults)'))(
    'an ONNX model with an unsupported operator names the op and the node',
    () => {
      const gru = readFileSync(join(sharedDir, 'onnx-backend-tests', 'node', 'test_gru_defaults', 'model.onnx'))
      const input = { dtype: 'float32' as const, shape: [1, 3, 2], data: new Float64Array(6) }
      try {
        importOnnx(gru, { calibration: [{ X: input }] })
        expect.unreachable()
      } catch (e) {
        expect((e as BaseError).code).toBe('UNSUPPORTED_OP')
        expect((e as BaseError).details.opType).toBe('GRU')
        expect((e as BaseError).message).toMatch(/Unsupported operator GRU at node/)
      }
    },
  )

  it('a truncated or corrupted artifact', () => {
    expect(codeOf(() => loadModel(artifact.subarray(0, artifact.length - 1)))).toBe('ARTIFACT_INVALID')
    expect(codeOf(() => loadModel(artifact.subarray(0, 40)))).toBe('ARTIFACT_INVALID')
    const wrongMagic = Uint8Array.from(artifact)
    wrongMagic[0] = 0
    expect(codeOf(() => loadModel(wrongMagic))).toBe('ARTIFACT_INVALID')
    expect(codeOf(() => loadModel(new Uint8Array([...artifact, 0])))).toBe('ARTIFACT_INVALID')
  })

  it('leaves the model usable: a good request afterwards gives the same answer', () => {
    expect(run(model, { Input3: image }).outputHash).toBe(ok.outputHash)
  })
})
