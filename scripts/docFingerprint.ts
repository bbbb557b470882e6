/**
 * Docs generated from measurements record a fingerprint of what they were measured from, so a test
 * can tell when they are stale (as packages/contracts/test/generated.test.ts does for the generated
 * contract modules): the generator writes `fingerprintLine(doc)` into the doc, and
 * `packages/contracts/test/gasReport.test.ts` / `packages/runtime/test/conformanceDoc.test.ts`
 * compare the recorded fingerprint with the current inputs.
 */
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

export const repoRoot = join(import.meta.dirname, '..')

/** Each generated doc, its generator, and the files (or directories) its figures depend on. */
export const generatedDocs = {
  'docs/gas-report.md': {
    command: 'npm run bench:gas',
    // The contracts' bytecode and ABIs (kept equal to the Solidity sources by generated.test.ts) and the bench.
    inputs: ['packages/contracts/src/generated', 'bench/gas.ts'],
  },
  'docs/conformance.md': {
    command: 'npx tsx bench/conformance.ts --light',
    // The runtime (importer, integer kernels) and the harness that classifies and scores each test.
    inputs: ['packages/runtime/src', 'packages/runtime/test/backendTests.ts', 'bench/conformance.ts'],
  },
} as const

export type GeneratedDoc = keyof typeof generatedDocs

function filesUnder(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path]
  return readdirSync(path)
    .sort()
    .flatMap((name) => filesUnder(join(path, name)))
}

/** sha256 over the doc's input files (repo-relative path and bytes of each; test files excluded). */
export function fingerprintOf(doc: GeneratedDoc): string {
  const hash = createHash('sha256')
  const files = generatedDocs[doc].inputs.flatMap((input) => filesUnder(join(repoRoot, input))).filter((f) => !f.endsWith('.test.ts'))
  for (const file of files)
    hash
      .update(`${relative(repoRoot, file)}\0`)
      .update(readFileSync(file))
      .update('\0')
  return hash.digest('hex')
}

/** The HTML comment a generator writes into its doc. */
export function fingerprintLine(doc: GeneratedDoc): string {
  return `<!-- inputs sha256 ${fingerprintOf(doc)} (${generatedDocs[doc].inputs.join(', ')}; scripts/docFingerprint.ts) -->`
}

/** The fingerprint recorded in a doc's text, if any. */
export function recordedFingerprint(text: string): string | undefined {
  return /<!-- inputs sha256 ([0-9a-f]{64}) /.exec(text)?.[1]
}
