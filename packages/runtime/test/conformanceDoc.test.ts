import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { fingerprintOf, generatedDocs, recordedFingerprint, repoRoot } from '../../../scripts/docFingerprint.js'

describe('docs/conformance.md', () => {
  it(`was measured from the current runtime and harness (run \`${generatedDocs['docs/conformance.md'].command}\` when this fails)`, () => {
    const text = readFileSync(join(repoRoot, 'docs', 'conformance.md'), 'utf8')
    expect(recordedFingerprint(text), 'docs/conformance.md is stale').toBe(fingerprintOf('docs/conformance.md'))
  })
})
