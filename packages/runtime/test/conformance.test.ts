/**
 * ONNX backend conformance (../shared/onnx-backend-tests, see backendTests.ts for the tolerance
 * rules): one test per node test of a supported op, and one per light_* architecture of `testedLightModels`.
 *
 * Unsupported node tests (non-float types, 3-D windows, training-mode outputs, …) are listed as
 * skipped with their reason; a mismatch beyond tolerance fails. Four light architectures run here
 * (see `testedLightModels`), all nine in bench/conformance.ts.
 */
import { describe, expect, it } from 'vitest'
import type { Trace } from '../src/index.js'
import {
  checkLightModel,
  checkWitnesses,
  evaluateNodeTest,
  lightModels,
  lightOpTypes,
  listNodeTests,
  prepareNodeTest,
  testedLightModels,
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
 * machine, vgg19 about 2 minutes (timings in docs/conformance.md). The test runs the cheap ones that
 * together hold every op type of all nine (`testedLightModels`); `npx tsx bench/conformance.ts --light`
 * runs all nine through the same check and fails when one is beyond tolerance.
 */
describe.runIf(present)('ONNX backend light models', () => {
  if (!present) return

  it('the light models run here hold every op type of all the light models', () => {
    const tested = new Set(testedLightModels.flatMap((name) => [...lightOpTypes(name)]))
    const missing = lightModels.flatMap((name) => [...lightOpTypes(name)].filter((op) => !tested.has(op)).map((op) => `${name}: ${op}`))
    expect(missing).toEqual([])
  })

  for (const name of testedLightModels) {
    it(`light_${name} imports (seeded random calibration), runs on the runner's input and matches the expected output`, () => {
      const check = checkLightModel(name)
      expect(check.outputs).toBe(1)
      expect(check.shape).toEqual(check.expectedShape)
      expect(check.allFinite).toBe(true)
      expect(check.maxError).toBeLessThanOrEqual(check.tolerance)
    })
  }
})
