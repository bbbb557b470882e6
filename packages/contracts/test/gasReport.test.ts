import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { fingerprintOf, generatedDocs, recordedFingerprint, repoRoot } from '../../../scripts/docFingerprint.js'

describe('docs/gas-report.md', () => {
  it(`was measured from the current contracts and bench (run \`${generatedDocs['docs/gas-report.md'].command}\` when this fails)`, () => {
    const text = readFileSync(join(repoRoot, 'docs', 'gas-report.md'), 'utf8')
    expect(recordedFingerprint(text), 'docs/gas-report.md is stale').toBe(fingerprintOf('docs/gas-report.md'))
  })
})
