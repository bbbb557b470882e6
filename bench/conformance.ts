// ONNX backend conformance of the integer runtime: per-op pass / fail / unsupported counts over the
// node tests of ../shared/onnx-backend-tests, written to docs/conformance.md.
// Run: npx tsx bench/conformance.ts            (node tests only, a few seconds; printed, not written)
//      npx tsx bench/conformance.ts --light    (also the light_* architectures, minutes; writes the doc)
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { NodeTestResult } from '../packages/runtime/test/backendTests.js'
import { checkLightModel, lightModels, listNodeTests, repoRoot, runNodeTest } from '../packages/runtime/test/backendTests.js'
import { fingerprintLine } from '../scripts/docFingerprint.js'

const withLight = process.argv.includes('--light')
const lightFailures: string[] = []

/** A markdown table with padded columns (the layout `biome format` gives); `right` marks numeric columns. */
function table(header: string[], right: boolean[], rows: string[][]): string[] {
  const widths = header.map((h, c) => Math.max(3, h.length, ...rows.map((r) => (r[c] ?? '').length)))
  const line = (cells: string[]) =>
    `| ${cells.map((v, c) => (right[c] ? v.padStart(widths[c] as number) : v.padEnd(widths[c] as number))).join(' | ')} |`
  const rule = `| ${widths.map((w, c) => (right[c] ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`
  return [line(header), rule, ...rows.map(line)]
}

const started = performance.now()
const results: NodeTestResult[] = listNodeTests().map((t) => {
  const r = runNodeTest(t)
  // Keep only what the report needs (imported models can be large).
  return { ...t, status: r.status, reason: r.reason, family: r.family, ratio: r.ratio, ...(r.worst ? { worst: r.worst } : {}) }
})
const nodeSeconds = (performance.now() - started) / 1000

const byOp = new Map<string, NodeTestResult[]>()
for (const r of results) byOp.set(r.opType, [...(byOp.get(r.opType) ?? []), r])
const count = (rs: NodeTestResult[], s: string) => rs.filter((r) => r.status === s).length
const total = {
  found: results.length,
  pass: count(results, 'pass'),
  fail: count(results, 'fail'),
  unsupported: count(results, 'unsupported'),
}

const lines: string[] = []
lines.push('# ONNX backend conformance')
lines.push('')
lines.push(fingerprintLine('docs/conformance.md'))
lines.push('')
lines.push(
  'Regenerate with `npx tsx bench/conformance.ts --light` (about 5 minutes; without `--light` the node-test sections are ' +
    'only printed, in seconds). For every node test in `../shared/onnx-backend-tests/node` (relative to the repository root) whose single node is an ' +
    'operator the importer accepts, the model is imported with its non-float inputs (shapes, axes) and the parameters the runtime ' +
    'needs constant (Conv and Gemm weights and biases, BatchNormalization statistics, Clip bounds, a Div divisor, Gather indices, ' +
    'Slice bounds, Tile repeats, an Expand shape, a Where condition, LayerNormalization and RMSNormalization scale and bias) bound as constants, ' +
    'calibrated on the test’s own inputs, run under the integer semantics (`verity-int16-v1`), and the dequantized output is compared ' +
    'element by element with the expected output. The tolerance is derived from the scales of that very model: for data movement and ' +
    'max-pooling half an input step; for Clip and average pooling one input step; for elementwise ops one output step plus the ' +
    'Lipschitz constant times each input step; for Conv, Gemm and MatMul one output step plus K·(max|x|·s_w/2 + max|w|·s_x/2) for ' +
    'fan-in K; for table functions one output step plus the variation of f within 17 input steps of the input; for Softmax and LRN ' +
    'bounds of the same kind (the exact formulas are in `packages/runtime/test/backendTests.ts`). A test is _unsupported_ when the ' +
    'importer rejects it with a typed `UNSUPPORTED_OP` error or it uses non-float data types or zero-size tensors; it _fails_ when ' +
    'any element is beyond tolerance or the import throws anything else. The same classification drives ' +
    '`packages/runtime/test/conformance.test.ts`, which also verifies single-value witnesses of every passing test.',
)
lines.push('')
lines.push(
  `**${total.found} node tests** on supported ops: **${total.pass} pass**, **${total.fail} fail**, **${total.unsupported} unsupported** ` +
    `(${nodeSeconds.toFixed(1)} s).`,
)
lines.push('')
const opRows = [...byOp]
  .sort(([a], [b]) => a.localeCompare(b))
  .map(([op, rs]) => {
    const passing = rs.filter((r) => r.status === 'pass')
    const worst = passing.length > 0 ? Math.max(...passing.map((r) => r.ratio)).toFixed(3) : '–'
    return [op, `${rs.length}`, `${count(rs, 'pass')}`, `${count(rs, 'fail')}`, `${count(rs, 'unsupported')}`, worst]
  })
opRows.push(['**total**', `**${total.found}**`, `**${total.pass}**`, `**${total.fail}**`, `**${total.unsupported}**`, ''])
lines.push(
  ...table(
    ['op', 'node tests', 'passed', 'failed', 'unsupported', 'worst error / tolerance (passing)'],
    [false, true, true, true, true, true],
    opRows,
  ),
)
lines.push('')

lines.push('## Unsupported')
lines.push('')
const reasons = new Map<string, string[]>()
for (const r of results.filter((x) => x.status === 'unsupported')) {
  const key = `${r.opType}: ${r.reason}`
  reasons.set(key, [...(reasons.get(key) ?? []), r.name])
}
if (reasons.size === 0) lines.push('None.')
for (const [reason, names] of [...reasons].sort(([a], [b]) => a.localeCompare(b))) {
  lines.push(`- **${reason}** (${names.length}): ${names.map((n) => `\`${n}\``).join(', ')}`)
}
lines.push('')

lines.push('## Failing')
lines.push('')
const failing = results.filter((r) => r.status === 'fail')
if (failing.length === 0) lines.push('None.')
for (const r of failing) lines.push(`- \`${r.name}\` (${r.opType}): ${r.reason}`)
lines.push('')

if (withLight) {
  lines.push('## Light models')
  lines.push('')
  lines.push(
    'The `light_*` architectures (weights replaced by ConstantOfShape nodes), imported with one seeded random calibration input ' +
      '(uniform in [0, 1), mulberry32 seed 42, `reportSamples: 0`) and run on the input the ONNX backend runner generated their ' +
      'expected outputs from, `(np.arange(n).reshape(shape) / n).astype(np.float32)` (`Runner.generate_dummy_data` with ' +
      '`random=False`). Because every weight of a layer is equal, the expected outputs do not depend on the input (uniform 0.001 ' +
      'after the softmax), so this checks import, execution and saturation more than accuracy. Times are single-threaded on the ' +
      'machine that generated this file; import includes the float64 calibration pass, quantization, and hashing the artifact. ' +
      'The tolerance is two output steps plus 0.5 % of the largest expected magnitude; a model beyond it fails this run. ' +
      '`conformance.test.ts` runs inception_v1, inception_v2, shufflenet and squeezenet with the same check ' +
      '(together they hold every op type of the nine, which the test asserts).',
  )
  lines.push('')
  const lightRows: string[][] = []
  for (const name of lightModels) {
    const c = checkLightModel(name)
    const ok = c.outputs === 1 && c.allFinite && c.maxError <= c.tolerance && c.shape.join() === c.expectedShape.join()
    if (!ok) lightFailures.push(`light_${name}: ${JSON.stringify({ ...c, importSeconds: undefined, runSeconds: undefined })}`)
    lightRows.push([
      name,
      `${c.ops}`,
      `[${c.shape}]`,
      c.importSeconds.toFixed(1),
      c.runSeconds.toFixed(2),
      c.maxError.toExponential(2),
      (c.maxError / c.scale).toFixed(2),
      ok ? 'yes' : '**no**',
    ])
    console.error(
      `light_${name}: import ${c.importSeconds.toFixed(1)} s, run ${c.runSeconds.toFixed(2)} s${ok ? '' : ' — BEYOND TOLERANCE'}`,
    )
  }
  lines.push(
    ...table(
      ['model', 'integer ops', 'output', 'import (s)', 'run (s)', 'max error', 'output steps', 'within tolerance'],
      [false, true, false, true, true, true, true, false],
      lightRows,
    ),
  )
  lines.push('')
}

const text = lines.join('\n')
console.log(text)
// The document holds both parts; only a full run rewrites it.
if (withLight) writeFileSync(join(repoRoot, 'docs', 'conformance.md'), text)
// A light model beyond tolerance (or a node test failing) fails the run, as it would fail the test.
for (const failure of lightFailures) console.error(`FAIL ${failure}`)
if (lightFailures.length > 0 || total.fail > 0) process.exitCode = 1
