import { InputMissingError, InputShapeError, InputTypeError, type LoadedModel, type TensorInfo } from '@verity/runtime/core'
import type { Address, Hex } from 'viem'
import { describeValue } from './describeValue.js'
import type { InferenceRequest, Receipt } from './eip712.js'
import { InvalidBase64Error, int16FromBase64, int16ToBase64 } from './int16Base64.js'

/**
 * JSON forms of the protocol's messages, shared by nodes, verifiers and clients (docs/protocol.md,
 * "HTTP API"): integers beyond 2^53 as decimal strings, hashes and addresses as 0x-hex, quantized
 * input tensors as arrays of int16 values.
 */
export type WireRequest = {
  modelId: Hex
  inputHash: Hex
  node: Address
  mode: number
  maxFee: string
  nonce: string
  deadline: string
  channelTotal: string
}
export type WireReceipt = {
  requestHash: Hex
  modelId: Hex
  inputHash: Hex
  outputHash: Hex
  node: Address
  client: Address
  fee: string
  issuedAt: string
  mode: number
}
/** Quantized inputs by input name: row-major int16 values (value = q · scale of the model's input spec). */
export type WireInputs = Record<string, { shape: number[]; data: number[] }>

export const requestToWire = (r: InferenceRequest): WireRequest => ({
  ...r,
  maxFee: r.maxFee.toString(),
  nonce: r.nonce.toString(),
  deadline: r.deadline.toString(),
  channelTotal: r.channelTotal.toString(),
})
export const receiptToWire = (r: Receipt): WireReceipt => ({ ...r, fee: r.fee.toString(), issuedAt: r.issuedAt.toString() })

export function inputsToWire(model: LoadedModel, tensors: readonly Int16Array[]): WireInputs {
  return Object.fromEntries(
    model.model.inputs.map((id, i) => {
      const spec = model.model.tensors[id] as TensorInfo
      return [spec.name, { shape: [...spec.shape], data: Array.from(tensors[i] as Int16Array) }]
    }),
  )
}

/**
 * `JSON.stringify(inputsToWire(model, tensors))`, the same text, written straight from the tensors:
 * each value's digits as ASCII bytes into one buffer, with no array of numbers in between — the
 * inputs as a node stores them with each receipt.
 */
export function inputsJson(model: LoadedModel, tensors: readonly Int16Array[]): string {
  const parts = model.model.inputs.map((id, i) => {
    const spec = model.model.tensors[id] as TensorInfo
    return `${JSON.stringify(spec.name)}:{"shape":${JSON.stringify(spec.shape)},"data":[${int16List(tensors[i] as Int16Array)}]}`
  })
  return `{${parts.join(',')}}`
}

/** One output tensor as a client reads it: the int16 values the receipt's output hash commits to, and raw · scale. */
export type WireOutput = { shape: number[]; scale: number; raw: number[]; values: number[] }
/** Output tensors by output name, in the model's order. */
export type WireOutputs = Record<string, WireOutput>
/**
 * How a node writes each output's `raw` in its answer: `json`, an array of integers (the default), or
 * `base64`, the int16 values little-endian in base64 (`int16ToBase64`) — a third of the characters
 * for a language model's logits, written and read at native speed.
 */
export const OUTPUT_ENCODINGS = ['json', 'base64'] as const
export type OutputEncoding = (typeof OUTPUT_ENCODINGS)[number]

/**
 * The outputs as a client should read them: each output named, shaped and scaled as the model (the
 * content-addressed artifact) says, its `raw` the int16 tensor that was checked against the receipt's
 * output hash, its `values` raw · scale computed here — never a node's own names, scales or values,
 * which its output hash does not commit to.
 */
export function outputsToWire(model: LoadedModel, tensors: readonly Int16Array[]): WireOutputs {
  return Object.fromEntries(
    model.model.outputs.map((id, i) => {
      const spec = model.model.tensors[id] as TensorInfo
      const t = tensors[i] as Int16Array
      // Indexed loops: `Array.from` and `map` cost twice as much on a language model's 32,768 logits.
      const raw = new Array<number>(t.length)
      const values = new Array<number>(t.length)
      for (let k = 0; k < t.length; k++) {
        raw[k] = t[k]!
        values[k] = t[k]! * spec.scale
      }
      return [spec.name, { shape: [...spec.shape], scale: spec.scale, raw, values }]
    }),
  )
}

/**
 * `JSON.stringify(outputsToWire(model, tensors))`, the same text, with `raw` written digit by digit
 * from the tensors (or in base64 with `encoding: 'base64'`); without `values` when `values` is false
 * (what a node stores, and answers a client that asks for no values: formatting a language model's
 * logits as decimals costs more than the rest of the answer).
 */
export function outputsJson(
  model: LoadedModel,
  tensors: readonly Int16Array[],
  { values = true, encoding = 'json' }: { values?: boolean; encoding?: OutputEncoding } = {},
): string {
  const parts = model.model.outputs.map((id, i) => {
    const spec = model.model.tensors[id] as TensorInfo
    const t = tensors[i] as Int16Array
    const raw = encoding === 'base64' ? `"${int16ToBase64(t)}"` : `[${int16List(t)}]`
    const head = `${JSON.stringify(spec.name)}:{"shape":${JSON.stringify(spec.shape)},"scale":${JSON.stringify(spec.scale)},"raw":${raw}`
    return values ? `${head},"values":${JSON.stringify(Array.from(t, (v) => v * spec.scale))}}` : `${head}}`
  })
  return `{${parts.join(',')}}`
}

/**
 * One output's `raw` as a node wrote it — an array of integers or a base64 string (`OutputEncoding`)
 * — as an int16 tensor. Integers are taken as `Int16Array.from` takes them: what a receipt commits to
 * is checked by hashing the tensor (`tensorsHash`), never by reading the text. Anything else —
 * a string that is not one tensor's base64, or no string at all — throws `InvalidBase64Error`
 * naming `where`.
 */
export function rawFromWire(raw: unknown, where = 'raw'): Int16Array {
  if (Array.isArray(raw)) return Int16Array.from(raw as number[])
  if (typeof raw !== 'string') throw new InvalidBase64Error(where, describeValue(raw), 'an array of int16 integers or their base64')
  return int16FromBase64(raw, where)
}

let digits = new Uint8Array(0)
/** The values of `t` in decimal, comma-separated (as `Array.from(t).join(',')`). */
function int16List(t: Int16Array): string {
  // At most 7 bytes a value: a sign, 5 digits, a comma.
  if (digits.length < 7 * t.length) digits = new Uint8Array(7 * t.length)
  const out = digits
  let o = 0
  for (let i = 0; i < t.length; i++) {
    if (i > 0) out[o++] = 44
    let v = t[i]!
    if (v < 0) {
      out[o++] = 45
      v = -v
    }
    if (v >= 10000) out[o++] = 48 + ((v / 10000) | 0)
    if (v >= 1000) out[o++] = 48 + (((v / 1000) | 0) % 10)
    if (v >= 100) out[o++] = 48 + (((v / 100) | 0) % 10)
    if (v >= 10) out[o++] = 48 + (((v / 10) | 0) % 10)
    out[o++] = 48 + (v % 10)
  }
  return ascii.decode(out.subarray(0, o))
}
const ascii = new TextDecoder()

/**
 * Validates quantized wire inputs against the model's input spec and returns the int16 tensors.
 * Throws the runtime's typed input errors (INPUT_MISSING, INPUT_SHAPE_MISMATCH, INPUT_DTYPE_MISMATCH).
 */
export function inputsFromWire(model: LoadedModel, wire: unknown): Int16Array[] {
  const specs = model.model.inputs.map((id) => model.model.tensors[id] as TensorInfo)
  const names = specs.map((s) => s.name)
  if (typeof wire !== 'object' || wire === null || Array.isArray(wire)) throw new InputMissingError(names, [])
  const given = Object.keys(wire)
  if (given.length !== names.length || !names.every((n) => Object.hasOwn(wire, n))) throw new InputMissingError(names, given)
  return specs.map((spec) => {
    const tensor = (wire as Record<string, unknown>)[spec.name] as { shape?: unknown; data?: unknown } | null
    const shape = tensor?.shape
    if (!Array.isArray(shape) || shape.length !== spec.shape.length || shape.some((d, i) => d !== spec.shape[i])) {
      throw new InputShapeError(
        spec.name,
        spec.shape,
        Array.isArray(shape) && shape.length <= 8 && shape.every((d) => typeof d === 'number') ? (shape as number[]) : [],
      )
    }
    const data = tensor?.data
    const size = spec.shape.reduce((a, b) => a * b, 1)
    if (!Array.isArray(data)) throw new InputTypeError(spec.name, 'an array of int16 values', typeof data)
    if (data.length !== size) throw new InputShapeError(spec.name, [size], [data.length])
    const out = new Int16Array(size)
    for (let i = 0; i < size; i++) {
      const value = data[i]
      if (typeof value !== 'number' || !Number.isInteger(value) || value < -32768 || value > 32767) {
        throw new InputTypeError(spec.name, 'int16 integers', `${describeValue(value)} at flat index ${i}`)
      }
      out[i] = value
    }
    return out
  })
}
