import { loadModel, mnistImage, quantizeInputs, runQuantized } from '@verity/runtime'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { mnist8 } from '../test/inferFixture.js'
import { createRunPool } from './runPool.js'

describe('createRunPool', () => {
  const pool = createRunPool(2)
  afterAll(() => pool.close())

  it('answers what runQuantized answers on the event loop, for many requests in flight over two workers', async () => {
    const { model, mnist } = mnist8()
    const inputs = Array.from({ length: 12 }, (_, i) => quantizeInputs(model, { Input3: mnistImage(mnist, i) }))
    const answers = await Promise.all(inputs.map((i) => pool.run(model, i)))
    expect(answers.map((a) => a.outputs)).toEqual(inputs.map((i) => runQuantized(model, i).outputs))
    for (const a of answers) expect(a.computeMs).toBeGreaterThan(0)
  })

  it('a model is told apart by its artifact: another artifact, another model', async () => {
    const { model } = mnist8()
    const copy = loadModel(Uint8Array.from(model.artifact))
    const zeros = [new Int16Array(784)]
    expect((await pool.run(copy, zeros)).outputs).toEqual(runQuantized(model, zeros).outputs)
  })

  it('a run that fails in its worker fails its request with the reason, and the worker serves the next', async () => {
    const { model } = mnist8()
    await expect(pool.run(model, [new Int16Array(3)])).rejects.toThrow(/model run failed in its worker/)
    expect((await pool.run(model, [new Int16Array(784)])).outputs[0]).toHaveLength(10)
  })

  it('a worker that dies fails the runs it held and is replaced: the next requests are answered, the model sent again', async () => {
    const { model, mnist } = mnist8()
    const crashing = createRunPool(1, { restartDelayMs: 0 })
    try {
      const input = quantizeInputs(model, { Input3: mnistImage(mnist, 3) })
      const expected = runQuantized(model, input).outputs
      expect((await crashing.run(model, input)).outputs).toEqual(expected)
      // What a crash looks like from the pool: the thread ends while a run is in flight.
      const held = crashing.run(model, input)
      await crashing.threads()[0]!.terminate()
      await expect(held).rejects.toThrow(/model worker exited/)
      await vi.waitFor(() => expect(crashing.restarts()).toBe(1))
      const again = await Promise.all([crashing.run(model, input), crashing.run(model, input)])
      expect(again.map((a) => a.outputs)).toEqual([expected, expected])
    } finally {
      await crashing.close()
    }
  })
})
