/**
 * ONNX backend conformance (../shared/onnx-backend-tests, see backendTests.ts for the tolerance
 * rules): one test per node test of a supported op, and one per light_* architecture.
 *
 * Unsupported node tests (non-float types, 3-D windows, training-mode outputs, …) are listed as
 * skipped with their reason; a mismatch beyond tolerance fails. The slowest light architecture
 * (vgg19) runs only with VERITY_CONFORMANCE_SLOW=1 (see `slowLight`).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Trace } from '../src/index.js'
import { decodeTensorProto, run } from '../src/index.js'
import {
  checkWitnesses,
  evaluateNodeTest,
  importLightModel,
  lightDir,
  lightInput,
  lightModels,
  listNodeTests,
  prepareNodeTest,
} from './backendTests.js'
import { haveBackendTests } from './fixtures.js'

const present = haveBackendTests('the ONNX backend conformance tests (node tests and light models)')
if (!present) it.skip('ONNX backend conformance — needs ../shared/onnx-backend-tests', () => {})

/** A stable seed per test name (FNV-1a), so witness indices do not depend on test order. */
function seedOf(name: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193)
  return h >>> 0
}

describe.runIf(present)('ONNX backend node tests', () => {
  if (!present) return
  const tests = listNodeTests()

  it('finds the node tests of the supported ops', () => {
    expect(tests.length).toBeGreaterThan(200)
  })

  for (const test of tests) {
    const prepared = prepareNodeTest(test)
    if (!prepared.ok && prepared.status === 'unsupported') {
      it.skip(`${test.name} [${test.opType}] — unsupported: ${prepared.reason}`, () => {})
      continue
    }
    it(`${test.name} [${test.opType}]`, () => {
      const result = evaluateNodeTest(prepared, { trace: true })
      expect(result.status, result.reason).toBe('pass')
      // The reference single-value definition agrees with the fast kernel at random outputs, and
      // the Merkle openings verify.
      const { imported, run: ran } = result as Required<typeof result>
      const { checked, failures } = checkWitnesses(imported.model, ran.trace as Trace, 4, seedOf(test.name))
      expect(failures).toEqual([])
      expect(checked).toBe(ran.outputs[0]?.values.length === 0 ? 0 : 4 * imported.model.nodes.length)
    })
  }
})

/**
 * Light architectures (weights are ConstantOfShape nodes). Import dominates their cost (the float64
 * calibration pass and hashing the weights for modelId and weightsRoot): 1.5–30 s each on a 2-core
 * machine, except vgg19 at about 2 minutes, which runs only with VERITY_CONFORMANCE_SLOW=1
 * (timings in docs/conformance.md).
 */
const slowLight: Record<string, string> = { vgg19: 'about 130 s to import: 143 M weights, 20 GFLOP float64 calibration' }
const runSlow = process.env.VERITY_CONFORMANCE_SLOW === '1'

describe.runIf(present)('ONNX backend light models', () => {
  if (!present) return
  for (const name of lightModels) {
    const title = `light_${name} imports (seeded random calibration), runs on the runner's input and matches the expected output`
    const slow = slowLight[name]
    if (slow && !runSlow) {
      it.skip(`${title} — slow (${slow}); set VERITY_CONFORMANCE_SLOW=1`, () => {})
      continue
    }
    it(title, { timeout: 600_000 }, () => {
      const { model, inputName, shape } = importLightModel(name)

      // The backend runner's input for light models: arange(n) / n as float32 (backendTests.ts).
      const { outputs } = run(model, { [inputName]: lightInput(shape) })
      const expected = decodeTensorProto(readFileSync(join(lightDir, `light_${name}_output_0.pb`)))
      const out = outputs[0] as (typeof outputs)[number]
      expect(outputs).toHaveLength(1)
      expect(out.shape).toEqual(expected.shape)
      expect(out.values.every(Number.isFinite)).toBe(true)
      // Tolerance: two output steps plus 0.5 % of the largest expected magnitude (the error of a
      // whole quantized network, calibrated on a different input, has no tight a-priori bound).
      let maxExpected = 0
      let maxError = 0
      for (let i = 0; i < out.values.length; i++) {
        maxExpected = Math.max(maxExpected, Math.abs(expected.data[i] as number))
        maxError = Math.max(maxError, Math.abs((out.values[i] as number) - (expected.data[i] as number)))
      }
      expect(maxError).toBeLessThanOrEqual(2 * out.scale + 0.005 * maxExpected)
    })
  }
})
