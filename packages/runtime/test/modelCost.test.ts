import { describe, expect, it } from 'vitest'
import { modelCost } from '../src/index.js'
import { importMnist } from './fixtures.js'

describe('modelCost', () => {
  it("counts mnist-8's multiply-accumulates and other output values from its graph", () => {
    const { model } = importMnist().model
    // Conv 8×28×28 outputs × (1×5×5) + Conv 16×14×14 × (8×5×5) + Dense 10 × 256 multiply-accumulates,
    // then one per value of Relu 8×28×28, MaxPool 8×14×14, Relu 16×14×14, MaxPool 16×4×4 and Reshape 256.
    const macs = 6272 * 25 + 3136 * 200 + 10 * 256
    const others = 6272 + 1568 + 3136 + 256 + 256
    expect(modelCost(model)).toBe(BigInt(macs + others))
    expect(modelCost(model)).toBe(798_048n)
  })
})
