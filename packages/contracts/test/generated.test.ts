import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { generateContractFiles, packageDir } from '../scripts/build.js'

describe('generated contract modules', () => {
  it('match a fresh solc-js build of the sources (run `npm run build:contracts` when this fails)', () => {
    const files = generateContractFiles()
    expect([...files.keys()].sort()).toMatchInlineSnapshot(`
      [
        "contracts/generated/VerityTypes.sol",
        "src/generated/disputeGame.ts",
        "src/generated/modelRegistry.ts",
        "src/generated/nodeRegistry.ts",
        "src/generated/oneStepVerifier.ts",
        "src/generated/settlement.ts",
        "src/generated/tensorHasher.ts",
        "src/generated/verityToken.ts",
        "test/generated/oneStepHarness.ts",
        "test/generated/receiptMerkleHarness.ts",
      ]
    `)
    for (const [path, contents] of files) {
      expect(readFileSync(join(packageDir, path), 'utf8'), `${path} is stale`).toBe(contents)
    }
  })
})
