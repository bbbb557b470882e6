import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { OPENAPI_FILES, openApiText } from '../../../scripts/build-openapi.ts'
import { openApiValidator } from '../test/openApiValidator.js'
import { nodeOpenApi } from './openapi.js'
import { requestFromWire } from './wire.js'
import { belowPattern } from './wireSchema.js'

const root = new URL('../../../', import.meta.url)

describe('the OpenAPI documents', () => {
  it.each(Object.entries(OPENAPI_FILES))('%s is what the schema generates (`npm run build:openapi` when this fails)', (path, build) => {
    const committed = readFileSync(new URL(path, root), 'utf8')
    expect(JSON.parse(committed), `${path} is stale: run npm run build:openapi`).toEqual(JSON.parse(openApiText(build())))
  })

  it('every component is valid JSON Schema 2020-12 and the document is OpenAPI 3.1 with every $ref resolvable', () => {
    const document = nodeOpenApi() as { openapi: string; paths: Record<string, unknown>; components: { schemas: Record<string, unknown> } }
    expect(document.openapi).toBe('3.1.0')
    const check = openApiValidator(document)
    for (const id of Object.keys(document.components.schemas)) expect(() => check(id, null), id).not.toThrow()
    const refs = JSON.stringify(document).match(/"\$ref":"[^"]+"/g) ?? []
    for (const ref of refs) expect(Object.keys(document.components.schemas)).toContain(ref.split('/').at(-1)!.slice(0, -1))
    expect(Object.keys(document.paths).sort()).toEqual([
      '/healthz',
      '/metrics',
      '/openapi.json',
      '/v1/batches/{root}',
      '/v1/channels/{client}',
      '/v1/data/{hash}',
      '/v1/infer',
      '/v1/inferences/{id}',
      '/v1/inferences/{id}/proof',
      '/v1/receipts',
    ])
  })

  it('the JSON Schema and the zod schema agree on what is a valid request, field bounds included', () => {
    const check = openApiValidator(nodeOpenApi())
    const ok: Record<string, unknown> = {
      modelId: `0x${'ab'.repeat(32)}`,
      inputHash: `0x${'CD'.repeat(32)}`,
      node: '0x00000000000000000000000000000000000000aA',
      mode: 1,
      maxFee: (2n ** 96n - 1n).toString(),
      nonce: '0',
      deadline: (2n ** 64n - 1n).toString(),
      channelTotal: '1000',
    }
    const variants: unknown[] = [ok, null, [], 'x', { ...ok, extra: 1 }]
    const odd = [
      undefined,
      null,
      1,
      -1,
      1.5,
      256,
      '1',
      '',
      '01',
      '-1',
      '1e3',
      '0x10',
      'ab',
      `0x${'zz'.repeat(32)}`,
      `0x${'ab'.repeat(33)}`,
      [],
      {},
    ]
    for (const field of Object.keys(ok)) {
      for (const value of odd) variants.push({ ...ok, [field]: value })
      variants.push(
        { ...ok, [field]: (2n ** 96n).toString() },
        { ...ok, [field]: (2n ** 64n).toString() },
        { ...ok, [field]: (2n ** 128n).toString() },
      )
    }
    for (const variant of variants) {
      let zodAccepts = true
      try {
        requestFromWire(variant)
      } catch (error) {
        expect((error as { code: string }).code).toBe('INVALID_MESSAGE')
        zodAccepts = false
      }
      const ajvAccepts = check('InferenceRequest', JSON.parse(JSON.stringify(variant) ?? 'null')).length === 0
      expect(ajvAccepts, JSON.stringify(variant)).toBe(zodAccepts)
    }
  })

  it('belowPattern matches exactly the decimals below its limit', () => {
    for (const limit of [1n, 2n, 10n, 11n, 100n, 256n, 1000n, 1001n, 2n ** 64n, 2n ** 96n, 2n ** 128n]) {
      const pattern = belowPattern(limit)
      const probes = new Set<bigint>([0n, 1n, 9n, 10n, 99n, 100n, limit - 2n, limit - 1n, limit, limit + 1n, limit * 10n])
      for (let i = 0n; i < 300n; i++) probes.add(i)
      for (let d = 1n; d < limit * 10n; d *= 10n) for (const k of [d - 1n, d, d + 1n, (limit / d) * d, limit - d]) probes.add(k)
      for (const n of probes) if (n >= 0n) expect(pattern.test(n.toString()), `${n} < ${limit}`).toBe(n < limit)
      expect(pattern.test(`0${limit - 1n}`)).toBe(limit === 1n ? false : limit - 1n === 0n)
    }
  })
})
