/**
 * Writes the OpenAPI 3.1 documents of the node's and the verifier's HTTP API (docs/openapi.json,
 * docs/openapi-verifier.json), generated from the zod schema in @verity/protocol that nodes and
 * clients validate with. `npm run build:openapi`; packages/protocol/src/openapi.test.ts fails when
 * the committed files differ from what the schema generates.
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { nodeOpenApi, verifierOpenApi } from '../packages/protocol/src/index.ts'

export const OPENAPI_FILES = {
  'docs/openapi.json': nodeOpenApi,
  'docs/openapi-verifier.json': verifierOpenApi,
} as const

export const openApiText = (document: unknown) => `${JSON.stringify(document, null, 2)}\n`

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('..', import.meta.url))
  for (const [path, build] of Object.entries(OPENAPI_FILES)) {
    writeFileSync(`${root}${path}`, openApiText(build()))
    console.log(`wrote ${path}`)
  }
}
