import { runQuantized } from '@verity/runtime'
import { describe, expect, it } from 'vitest'
import { mnist8, signedInfer } from '../../test/inferFixture.js'
import { type Executor, executeRequest, honestExecutor } from './executeRequest.js'

describe('executeRequest', () => {
  it('runs the integer runtime by default: the outputs every verifier recomputes', async () => {
    const { model } = mnist8()
    const { inputs, request } = await signedInfer(4)
    const { outputs, computeMs } = executeRequest({ model, inputs, inputHash: request.inputHash })
    expect(outputs).toEqual(runQuantized(model, inputs).outputs)
    expect(outputs[0]).toHaveLength(10)
    expect(computeMs).toBeGreaterThan(0)
    expect(honestExecutor(model, inputs, { inputHash: request.inputHash })).toEqual(outputs)
  })

  it('runs the executor it is given, with the inputs and their hash', async () => {
    const { model } = mnist8()
    const { inputs, request } = await signedInfer(5)
    const seen: unknown[] = []
    const constant: Executor = (m, i, context) => {
      seen.push([m, i, context])
      return [Int16Array.from({ length: 10 }, (_, k) => k)]
    }
    const { outputs } = executeRequest({ model, inputs, inputHash: request.inputHash, executor: constant })
    expect(outputs).toEqual([Int16Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])])
    expect(seen).toEqual([[model, inputs, { inputHash: request.inputHash }]])
  })
})
