import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadMnist, mnistImage } from '@verity/runtime'
import { describe, expect, it } from 'vitest'
import { verityCommand } from './verityCommand.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const data = join(root, 'data')
const mnist = join(data, 'datasets', 'mnist')

/** Runs the verity CLI from source in a child process. */
function verity(...args: string[]) {
  const [command, argv] = verityCommand(...args)
  const r = spawnSync(command, argv, { cwd: root, encoding: 'utf8' })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('verity CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'verity-cli-'))
  const artifact = join(dir, 'mnist.vrty')

  it('model import prints the model id, op counts, weights and the quantization report', () => {
    const importArgs = [
      'model',
      'import',
      join(data, 'models', 'mnist-8.onnx'),
      '--calibrate',
      `mnist:${mnist}`,
      '--count',
      '100',
      '--out',
      artifact,
    ]
    const r = verity(...importArgs, '--json')
    expect(r.code, r.stderr).toBe(0)
    const report = JSON.parse(r.stdout)
    expect(report.modelId).toMatch(/^0x[0-9a-f]{64}$/)
    expect(report.onnxOps).toEqual({ Reshape: 2, Conv: 2, Add: 3, Relu: 2, MaxPool: 2, MatMul: 1 })
    expect(report.ops).toEqual({ Conv: 2, Relu: 2, MaxPool: 2, Reshape: 1, Dense: 1 })
    expect(report.weights.int8).toBe(5960)
    expect(report.layers).toHaveLength(8)
    expect(report.calibrationSamples).toBe(100)
    const text = verity(...importArgs)
    expect(text.stdout).toContain(`model id      ${report.modelId}`)
    expect(text.stdout).toMatch(/Convolution110\s+Conv/)
  })

  it('run prints dequantized and raw outputs, the output hash, and with --trace the trace root', () => {
    const r = verity('run', '--model', artifact, '--input', `mnist:${mnist}#0`, '--trace', '--json')
    expect(r.code, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(out.traceRoot).toMatch(/^0x[0-9a-f]{64}$/)
    expect(out.outputs[0].raw).toHaveLength(10)
    const values: number[] = out.outputs[0].values
    expect(values.indexOf(Math.max(...values))).toBe(7) // MNIST test image 0 is a 7
    expect(values[3]).toBeCloseTo(out.outputs[0].raw[3] * out.outputs[0].scale, 9)
    // The same image as a JSON input file gives the same output hash.
    const image = mnistImage(loadMnist(mnist), 0)
    const file = join(dir, 'image0.json')
    writeFileSync(file, JSON.stringify({ Input3: { shape: image.shape, data: Array.from(image.data) } }))
    const fromFile = JSON.parse(verity('run', '--model', artifact, '--input', file, '--json').stdout)
    expect(fromFile.outputHash).toBe(out.outputHash)
    expect(fromFile.inputHash).toBe(out.inputHash)
  })

  it('run rejects bad input with the error code and what was expected', () => {
    const bad = join(dir, 'bad.json')
    writeFileSync(bad, JSON.stringify({ shape: [1, 1, 28, 28], data: [Number.NaN] }))
    const r = verity('run', '--model', artifact, '--input', bad)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('error INPUT_SHAPE_MISMATCH')
    expect(r.stderr).toContain('expected: [1,1,28,28]')
    writeFileSync(bad, '{"shape": [1, 1, 28')
    expect(verity('run', '--model', artifact, '--input', bad).stderr).toContain('error USAGE')
    expect(verity('run', '--model', join(dir, 'missing.vrty'), '--input', bad).stderr).toContain('Cannot read model artifact')
  })

  it('refuses a blank number for an option (not 0), saying what it expected, before doing anything', () => {
    for (const [flag, value, expected] of [
      ['--spread-run-ms', '', 'expected a number ≥ 0, got ""'],
      ['--run-workers', ' ', 'expected a non-negative integer, got " "'],
    ]) {
      const bad = verity('node', 'inference', flag!, value!)
      expect(bad.code, `${flag} "${value}"`).not.toBe(0)
      expect(bad.stderr).toContain(expected)
    }
  })

  it('eval reports accuracy, agreement with the float model and logit MAE', () => {
    const r = verity('eval', '--model', artifact, '--dataset', 'mnist', '--data', mnist, '--limit', '300', '--json')
    expect(r.code, r.stderr).toBe(0)
    const res = JSON.parse(r.stdout)
    expect(res.images).toBe(300)
    expect(res.accuracy).toBeGreaterThan(0.97)
    expect(res.agreement).toBeGreaterThan(0.99)
    expect(res.logitMae).toBeGreaterThan(0)
    expect(res.floatModel).toContain('mnist-8.onnx')
  })
})
