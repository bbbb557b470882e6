import * as z from 'zod'

/**
 * The JSON forms of the protocol's messages as one zod schema (docs/protocol.md, "HTTP API"): what
 * nodes validate requests with, what clients validate node answers with, and what docs/openapi.json
 * is generated from. Integers beyond 2^53 go as decimal strings, hashes and addresses as 0x-hex.
 *
 * Every check carries the phrase a caller reads when it fails ("must be …"): `parseWire` turns the
 * first failed check into `<where>.<field> must be …, found <the value, bounded>`.
 */

/** The schemas that have a name in the OpenAPI document (`#/components/schemas/<id>`). */
export const apiRegistry = z.registry<{ id: string; description?: string }>()

const hex = (pattern: RegExp, expected: string, description: string) =>
  z
    .string({ error: `must be ${expected}` })
    .regex(pattern, { error: `must be ${expected}` })
    .meta({ description })

/** A 32-byte hash: 0x and 64 hex digits (any case). */
export const Bytes32 = hex(/^0x[0-9a-fA-F]{64}$/, '0x followed by 64 hex digits', '32 bytes as 0x-hex (64 digits)')
/** An Ethereum address: 0x and 40 hex digits (any case; the checksum is not required). */
export const AddressString = hex(/^0x[0-9a-fA-F]{40}$/, 'an address', 'an address: 0x and 40 hex digits, any case')
/** A 65-byte secp256k1 signature r ‖ s ‖ v as 0x-hex. */
export const SignatureHex = hex(/^0x[0-9a-fA-F]{130}$/, '65 bytes of 0x-hex', 'a 65-byte signature r ‖ s ‖ v as 0x-hex (130 digits)')

/**
 * A regular expression matching exactly the decimal numbers 0 … limit − 1 without leading zeros, so
 * the bound is part of the JSON Schema too (a `pattern`), not only of zod's checks.
 */
export function belowPattern(limit: bigint): RegExp {
  const max = (limit - 1n).toString()
  const n = max.length
  const alternatives = ['0', n > 1 ? `[1-9]\\d{0,${n - 2}}` : '']
  for (let i = 0; i < n; i++) {
    const digit = Number(max[i])
    const low = i === 0 ? 1 : 0
    if (digit - 1 < low) continue
    const range = digit - 1 === low ? `${low}` : `[${low}-${digit - 1}]`
    alternatives.push(`${max.slice(0, i)}${range}${i < n - 1 ? `\\d{${n - 1 - i}}` : ''}`)
  }
  alternatives.push(max)
  return new RegExp(`^(${alternatives.filter((a) => a !== '').join('|')})$`)
}

/** An unsigned integer below 2^`bits` as a decimal string without leading zeros. */
export const uintString = (bits: number) => {
  const limit = 2n ** BigInt(bits)
  return z
    .string({ error: 'must be a decimal string' })
    .regex(/^(0|[1-9]\d{0,38})$/, { error: 'must be a decimal string', abort: true })
    .regex(belowPattern(limit), { error: (issue) => `is ${String(issue.input).slice(0, 40)}, above the field's maximum ${limit - 1n}` })
    .meta({ description: `an unsigned integer below 2^${bits} as a decimal string (no sign, no leading zeros)`, format: `uint${bits}` })
}
/** A uint8 as a JSON number. */
export const Uint8 = z
  .int({ error: 'must be an integer 0…255' })
  .min(0, { error: 'must be an integer 0…255' })
  .max(255, { error: 'must be an integer 0…255' })
/** A non-negative JSON integer (counts, sequence numbers, indexes, milliseconds). */
export const Count = z.int({ error: 'must be an integer ≥ 0' }).min(0, { error: 'must be an integer ≥ 0' })
const isInt16 = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= -32768 && v <= 32767

/** JSON Schemas of the schemas zod cannot describe itself (checked by a function, for speed). */
export const jsonSchemaOverrides = new Map<z.ZodType, Record<string, unknown>>()

/**
 * An array checked in one pass that stops at the first bad item: an array of a million bad values
 * costs what one does (zod's per-item issues would cost seconds). Its JSON Schema is given beside it.
 */
function checkedArray(isItem: (v: unknown) => boolean, item: Record<string, unknown>, expected: string, description: string) {
  const schema = z.custom<number[]>((v) => Array.isArray(v) && v.every(isItem), {
    error: (issue) => {
      const v = issue.input
      if (!Array.isArray(v)) return `must be an array of ${expected}`
      return `must be an array of ${expected} (item ${v.findIndex((x) => !isItem(x))} is not)`
    },
  })
  jsonSchemaOverrides.set(schema, { type: 'array', items: item, description })
  return schema
}

export const int16Values = (description: string) =>
  checkedArray(isInt16, { type: 'integer', minimum: -32768, maximum: 32767 }, 'int16 integers', description)
/**
 * An output's `raw`: an array of int16 integers (checked as `int16Values`) or a base64 string of them
 * (decoded, strictly, by `rawFromWire`; its hash against the receipt is what decides).
 */
export const int16ValuesOrBase64 = (description: string) => {
  const expected = 'an array of int16 integers or a base64 string'
  const schema = z.custom<number[] | string>((v) => typeof v === 'string' || (Array.isArray(v) && v.every(isInt16)), {
    error: (issue) => {
      const v = issue.input
      if (!Array.isArray(v)) return `must be ${expected}`
      return `must be ${expected} (item ${v.findIndex((x) => !isInt16(x))} of the array is not an int16 integer)`
    },
  })
  jsonSchemaOverrides.set(schema, {
    oneOf: [
      { type: 'array', items: { type: 'integer', minimum: -32768, maximum: 32767 } },
      { type: 'string', contentEncoding: 'base64', description: 'the int16 values, little-endian, in standard padded base64' },
    ],
    description,
  })
  return schema
}
export const numberValues = (description: string) => checkedArray((v) => typeof v === 'number', { type: 'number' }, 'numbers', description)

/** Largest tensor rank the API carries. */
export const MAX_RANK = 16

const object = <T extends z.core.$ZodLooseShape>(shape: T) => z.object(shape, { error: 'must be an object' })

/** An inference request as the client signs it (EIP-712 `InferenceRequest`). */
export const WireRequestSchema = object({
  modelId: Bytes32,
  inputHash: Bytes32,
  node: AddressString,
  mode: Uint8.meta({ description: 'verification mode: 0 none, 1 optimistic, 2 zk (a node may refuse 2)' }),
  maxFee: uintString(96).meta({ description: 'the most the client pays, in token base units; the fee charged is this value' }),
  nonce: uintString(64),
  deadline: uintString(64).meta({ description: 'unix time in seconds after which the node must refuse the request' }),
  channelTotal: uintString(128).meta({
    description: "the client's running total of fees authorised to this node, this request's included (a voucher)",
  }),
}).register(apiRegistry, { id: 'InferenceRequest', description: 'An inference request as the client signs it (EIP-712).' })

/** A receipt as the node signs it (EIP-712 `Receipt`). */
export const WireReceiptSchema = object({
  requestHash: Bytes32,
  modelId: Bytes32,
  inputHash: Bytes32,
  outputHash: Bytes32,
  node: AddressString,
  client: AddressString,
  fee: uintString(96),
  issuedAt: uintString(64).meta({ description: 'unix time in seconds' }),
  mode: Uint8,
}).register(apiRegistry, { id: 'Receipt', description: 'A receipt as the node signs it (EIP-712); its id is its EIP-712 hash.' })

/** Quantized inputs by input name: row-major int16 values (value = q · scale of the model's input spec). */
export const WireInputsSchema = z
  .record(
    z.string(),
    object({
      shape: z.array(Count).max(MAX_RANK, { error: `must have at most ${MAX_RANK} dimensions` }),
      data: int16Values('row-major int16 values; the real value is q · scale of the input spec'),
    }),
    { error: 'must be an object' },
  )
  .register(apiRegistry, { id: 'Inputs', description: "Quantized input tensors by the model's input names." })

/** A path inside a value as it appears in messages: `request.maxFee`, `receipts[3].fee`. */
function pathOf(where: string, path: readonly PropertyKey[]): string {
  let out = where
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `.${String(key)}`
  return out
}

/** The value at `path` inside `value`, or undefined; never walks more than the path's length. */
function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value
  for (const key of path) {
    if (typeof v !== 'object' || v === null || !Object.hasOwn(v, key)) return undefined
    v = (v as Record<PropertyKey, unknown>)[key]
  }
  return v
}

/** The first problem zod found, as a sentence saying which field, what was expected and what was found. */
export function describeIssue(
  error: z.ZodError,
  value: unknown,
  where: string,
  describe: (v: unknown) => string,
): { message: string; path: string } {
  let issue = error.issues[0] as z.core.$ZodIssue
  // A union (e.g. `null` or an object) that failed every branch: the object branch says more.
  while (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const branch = issue.errors.at(-1)?.[0]
    if (!branch) break
    issue = { ...branch, path: [...issue.path, ...branch.path] } as z.core.$ZodIssue
  }
  const path = pathOf(where, issue.path)
  const found = valueAt(value, issue.path)
  const said = issue.message.startsWith('must be') || issue.message.startsWith('is ') ? issue.message : `must be valid (${issue.message})`
  return { path, message: said.startsWith('is ') ? `${path} ${said}` : `${path} ${said}, found ${describe(found)}` }
}
