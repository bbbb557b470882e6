import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'
import { importOnnx, loadMnist, mnistImage, openValue, run, verifyWitness } from '../src/index.js'
import { mnistDir, mnistModelPath } from './fixtures.js'

it('the README example works as written', () => {
  const mnist = loadMnist(mnistDir)
  const calibration = [0, 1, 2, 3].map((i) => ({ Input3: mnistImage(mnist, 9999 - i) }))
  const { model } = importOnnx(readFileSync(mnistModelPath), { calibration })
  const { outputs, outputHash, trace } = run(model, { Input3: mnistImage(mnist, 0) }, { trace: true })
  const witness = openValue(model, trace!, 3, 42)
  expect(outputs[0]?.values.length).toBe(10)
  expect(outputHash).toMatch(/^0x[0-9a-f]{64}$/)
  expect(verifyWitness(witness, { model, traceRoot: trace!.root })).toEqual({ ok: true, value: witness.value })
})
