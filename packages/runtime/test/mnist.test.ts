import * as ort from 'onnxruntime-node'
import { describe, expect, it } from 'vitest'
import { loadMnist, mnistImage, run } from '../src/index.js'
import { importMnist, mnistDir, mnistModelPath } from './fixtures.js'

function argmax(v: ArrayLike<number>): number {
  let best = 0
  for (let i = 1; i < v.length; i++) if ((v[i] as number) > (v[best] as number)) best = i
  return best
}

describe('mnist-8 quantized, all 10,000 MNIST test images', () => {
  it('keeps top-1 accuracy ≥ 98.7 % and top-1 agreement with the float model (onnxruntime-node) ≥ 99.7 %', async () => {
    const { model } = importMnist()
    const set = loadMnist(mnistDir)
    const session = await ort.InferenceSession.create(mnistModelPath, { intraOpNumThreads: 1 })
    let correct = 0
    let floatCorrect = 0
    let agree = 0
    for (let i = 0; i < set.count; i++) {
      const img = mnistImage(set, i)
      const q = argmax(run(model, { Input3: img }).outputs[0]?.values as Float64Array)
      const out = await session.run({ Input3: new ort.Tensor('float32', Float32Array.from(img.data), [1, 1, 28, 28]) })
      const f = argmax(out.Plus214_Output_0?.data as Float32Array)
      if (q === set.labels[i]) correct++
      if (f === set.labels[i]) floatCorrect++
      if (q === f) agree++
    }
    await session.release()
    expect(set.count).toBe(10_000)
    expect(floatCorrect / set.count).toBeCloseTo(0.9891, 4)
    expect(correct / set.count).toBeGreaterThanOrEqual(0.987)
    expect(agree / set.count).toBeGreaterThanOrEqual(0.997)
  })
})
