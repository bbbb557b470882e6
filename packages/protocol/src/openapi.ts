import * as z from 'zod'
import { type Endpoint, nodeEndpoints, verifierEndpoints } from './httpApi.js'
import { apiRegistry, jsonSchemaOverrides } from './wireSchema.js'

type JsonSchema = Record<string, unknown>

const REF = '#/components/schemas/'

/** The JSON Schema of what zod checks with a function (e.g. int16 arrays), given beside the schema. */
const override = (ctx: { zodSchema: unknown; jsonSchema: JsonSchema }) => {
  const given = jsonSchemaOverrides.get(ctx.zodSchema as z.ZodType)
  if (given) Object.assign(ctx.jsonSchema, given)
}

/** The named schemas as OpenAPI 3.1 components (JSON Schema 2020-12), referring to each other by `$ref`. */
function components(): Record<string, JsonSchema> {
  const { schemas } = z.toJSONSchema(apiRegistry, { uri: (id) => `${REF}${id}`, io: 'input', unrepresentable: 'any', override })
  return Object.fromEntries(
    Object.entries(schemas).map(([id, schema]) => {
      // Components are embedded in the document: no `$schema` / `$id` of their own.
      const { $schema: _, $id: __, ...rest } = schema as JsonSchema
      return [id, rest]
    }),
  )
}

/** One schema as used inside an operation: a `$ref` to its component when it has one, else inline. */
function schemaOf(schema: z.ZodType): JsonSchema {
  const id = apiRegistry.get(schema)?.id
  if (id !== undefined) return { $ref: `${REF}${id}` }
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', override }) as JsonSchema
  return rest
}

function operation(endpoint: Endpoint): JsonSchema {
  const parameters = [
    ...Object.entries(endpoint.params ?? {}).map(([name, p]) => ({
      name,
      in: 'path',
      required: true,
      description: p.description,
      schema: schemaOf(p.schema),
    })),
    ...Object.entries(endpoint.query ?? {}).map(([name, p]) => ({
      name,
      in: 'query',
      required: false,
      description: p.description,
      schema: schemaOf(p.schema),
    })),
  ]
  const responses = Object.fromEntries(
    Object.entries(endpoint.responses).map(([status, r]) => [
      status,
      {
        description: r.description,
        content:
          'text' in r
            ? { [r.text.split(';')[0]!]: { schema: { type: 'string' } } }
            : { 'application/json': { schema: schemaOf(r.schema) } },
      },
    ]),
  )
  return {
    summary: endpoint.summary,
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(endpoint.body ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(endpoint.body) } } } } : {}),
    responses,
  }
}

function document(title: string, description: string, endpoints: readonly Endpoint[]): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {}
  for (const endpoint of endpoints) {
    paths[endpoint.path] ??= {}
    paths[endpoint.path]![endpoint.method] = operation(endpoint)
  }
  // Only the components this document refers to, directly or through other components.
  const all = components()
  const used = new Set<string>()
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) for (const v of value) visit(v)
    else if (typeof value === 'object' && value !== null)
      for (const [key, v] of Object.entries(value)) {
        if (key === '$ref' && typeof v === 'string' && v.startsWith(REF)) {
          const id = v.slice(REF.length)
          if (!used.has(id)) {
            used.add(id)
            visit(all[id])
          }
        } else visit(v)
      }
  }
  visit(paths)
  const schemas = Object.fromEntries(Object.entries(all).filter(([id]) => used.has(id)))
  return { openapi: '3.1.0', info: { title, version: '0.1.0', description }, paths, components: { schemas } }
}

/**
 * The OpenAPI 3.1 document of an inference node's HTTP API, generated from the schema the node and
 * the SDK validate with (`npm run build:openapi` writes it to docs/openapi.json; a node serves it at
 * GET /openapi.json).
 */
export function nodeOpenApi(): JsonSchema {
  return document(
    'Verity inference node',
    'The HTTP API of a Verity inference node (docs/protocol.md, "HTTP API"). Integers beyond 2^53 go as decimal strings, hashes, addresses and signatures as 0x-hex; every error is `{ error: { code, message, details } }`.',
    nodeEndpoints,
  )
}

/** The OpenAPI 3.1 document of a verifier's HTTP API (docs/openapi-verifier.json). */
export function verifierOpenApi(): JsonSchema {
  return document('Verity verifier', 'The HTTP API of a Verity verifier (docs/protocol.md, "HTTP API").', verifierEndpoints)
}
