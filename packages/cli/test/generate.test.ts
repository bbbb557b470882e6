import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { verityCommand } from './verityCommand.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const models = join(root, '..', 'shared', 'models')
const stories = join(models, 'stories260K', 'stories260K.onnx')
const present = existsSync(stories)
if (!present) console.log(`skipped verity generate tests: ${stories} is absent`)

function verity(...args: string[]) {
  const [command, argv] = verityCommand(...args)
  const r = spawnSync(command, argv, { cwd: root, encoding: 'utf8' })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe.skipIf(!present)('verity generate', () => {
  it('generates greedily from an ONNX language model with its llama2.c tokenizer and prints the trace root', () => {
    const r = verity('generate', '--model', stories, '--prompt', 'Once upon a time', '--max-tokens', '12', '--json')
    expect(r.code, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(out.root).toMatch(/^0x[0-9a-f]{64}$/)
    expect(out.tokens).toHaveLength(12)
    const greedy: string = JSON.parse(readFileSync(join(models, 'language-models.json'), 'utf8')).stories260K.greedy_text
    // The float model's own continuation of BOS starts the same way.
    expect(out.text).toBe(greedy.slice(0, out.text.length))
  })

  it('refuses a negative temperature, saying what it expected', () => {
    const bad = verity('generate', '--model', stories, '--prompt', 'x', '--temperature', '-1')
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toContain('expected a number ≥ 0, got "-1"')
  })
})
