import { honestExecutor } from '@verity/node'
import { runQuantized } from '@verity/runtime'
import { describe, expect, it } from 'vitest'
import { mnist8, signedInfer } from '../../node/test/inferFixture.js'
import { corruptingExecutor } from './corruptingExecutor.js'
import { deepValueTamper } from './deepValueTamper.js'

async function digits(n: number) {
  return Promise.all(Array.from({ length: n }, (_, i) => signedInfer(i)))
}

describe('corruptingExecutor', () => {
  it('flip-output at rate 1: every answer is the honest one with its first value off by one', async () => {
    const { model } = mnist8()
    const lie = corruptingExecutor({ kind: 'flip-output', rate: 1 })
    for (const { inputs, request } of await digits(3)) {
      const honest = honestExecutor(model, inputs, { inputHash: request.inputHash })
      const answered = lie(model, inputs, { inputHash: request.inputHash })
      expect(answered[0]![0]).toBe(honest[0]![0]! + 1)
      expect(Array.from(answered[0]!).slice(1)).toEqual(Array.from(honest[0]!).slice(1))
    }
  })

  it('deep-value at rate 1: the output of the run with one intermediate value raised, the same for the same input', async () => {
    const { model } = mnist8()
    const lie = corruptingExecutor({ kind: 'deep-value', rate: 1 })
    const [{ inputs, request }] = await digits(1)
    const answered = lie(model, inputs!, { inputHash: request!.inputHash })
    expect(answered).toEqual(runQuantized(model, inputs!, { tamper: deepValueTamper(model, request!.inputHash) }).outputs)
    expect(answered).not.toEqual(honestExecutor(model, inputs!, { inputHash: request!.inputHash }))
    expect(lie(model, inputs!, { inputHash: request!.inputHash })).toEqual(answered)
  })

  it('lies on the share of runs its seed picks, the same runs for the same seed, honest otherwise', async () => {
    const { model } = mnist8()
    const runs = await digits(12)
    const liesOf = (seed: number) => {
      const executor = corruptingExecutor({ kind: 'flip-output', rate: 0.3, seed })
      return runs.map(({ inputs, request }) => {
        const answered = executor(model, inputs, { inputHash: request.inputHash })
        return answered[0]![0] !== honestExecutor(model, inputs, { inputHash: request.inputHash })[0]![0]
      })
    }
    const lies = liesOf(3)
    expect(lies.filter(Boolean).length).toBeGreaterThan(0)
    expect(lies.filter(Boolean).length).toBeLessThan(runs.length)
    expect(liesOf(3)).toEqual(lies)
    expect(liesOf(0).every((l, i) => l === lies[i])).toBe(false)
    const never = corruptingExecutor({ kind: 'silent', rate: 0 })
    for (const { inputs, request } of runs.slice(0, 3))
      expect(never(model, inputs, { inputHash: request.inputHash })).toEqual(
        honestExecutor(model, inputs, { inputHash: request.inputHash }),
      )
  })
})
