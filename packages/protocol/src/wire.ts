import { BaseError, InputMissingError, InputShapeError, InputTypeError, type LoadedModel, type TensorInfo } from '@verity/runtime/core'
import { type Address, type Hex, isAddress, isHex } from 'viem'
import { describeValue } from './describeValue.js'
import type { InferenceRequest, Receipt } from './eip712.js'

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

/** A protocol message that does not have the expected form; says which field and what it found. */
export class WireFormatError extends BaseError {
  override name = 'WireFormatError'
  constructor(shortMessage: string) {
    super('INVALID_MESSAGE', shortMessage)
  }
}

export const requestToWire = (r: InferenceRequest): WireRequest => ({
  ...r,
  maxFee: r.maxFee.toString(),
  nonce: r.nonce.toString(),
  deadline: r.deadline.toString(),
  channelTotal: r.channelTotal.toString(),
})
export const receiptToWire = (r: Receipt): WireReceipt => ({ ...r, fee: r.fee.toString(), issuedAt: r.issuedAt.toString() })

function field(o: Record<string, unknown>, where: string, name: string, kind: 'bytes32' | 'address' | 'uint' | 'uint8'): unknown {
  const v = o[name]
  const bad = (expected: string) => new WireFormatError(`${where}.${name} must be ${expected}, found ${describeValue(v)}`)
  if (kind === 'bytes32') {
    if (typeof v !== 'string' || !isHex(v) || v.length !== 66) throw bad('0x followed by 64 hex digits')
    return v.toLowerCase()
  }
  if (kind === 'address') {
    if (typeof v !== 'string' || !isAddress(v, { strict: false })) throw bad('an address')
    return v
  }
  if (kind === 'uint8') {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255) throw bad('an integer 0…255')
    return v
  }
  if (typeof v !== 'string' || !/^(0|[1-9]\d{0,38})$/.test(v)) throw bad('a decimal string')
  return BigInt(v)
}

function object(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new WireFormatError(`${where} must be an object, found ${describeValue(v)}`)
  return v as Record<string, unknown>
}

const UINT96 = 2n ** 96n
const UINT64 = 2n ** 64n
const UINT128 = 2n ** 128n

function bounded(value: bigint, limit: bigint, where: string): bigint {
  if (value >= limit) throw new WireFormatError(`${where} is ${value}, above the field's maximum ${limit - 1n}`)
  return value
}

export function requestFromWire(v: unknown, where = 'request'): InferenceRequest {
  const o = object(v, where)
  return {
    modelId: field(o, where, 'modelId', 'bytes32') as Hex,
    inputHash: field(o, where, 'inputHash', 'bytes32') as Hex,
    node: field(o, where, 'node', 'address') as Address,
    mode: field(o, where, 'mode', 'uint8') as number,
    maxFee: bounded(field(o, where, 'maxFee', 'uint') as bigint, UINT96, `${where}.maxFee`),
    nonce: bounded(field(o, where, 'nonce', 'uint') as bigint, UINT64, `${where}.nonce`),
    deadline: bounded(field(o, where, 'deadline', 'uint') as bigint, UINT64, `${where}.deadline`),
    channelTotal: bounded(field(o, where, 'channelTotal', 'uint') as bigint, UINT128, `${where}.channelTotal`),
  }
}

export function receiptFromWire(v: unknown, where = 'receipt'): Receipt {
  const o = object(v, where)
  return {
    requestHash: field(o, where, 'requestHash', 'bytes32') as Hex,
    modelId: field(o, where, 'modelId', 'bytes32') as Hex,
    inputHash: field(o, where, 'inputHash', 'bytes32') as Hex,
    outputHash: field(o, where, 'outputHash', 'bytes32') as Hex,
    node: field(o, where, 'node', 'address') as Address,
    client: field(o, where, 'client', 'address') as Address,
    fee: bounded(field(o, where, 'fee', 'uint') as bigint, UINT96, `${where}.fee`),
    issuedAt: bounded(field(o, where, 'issuedAt', 'uint') as bigint, UINT64, `${where}.issuedAt`),
    mode: field(o, where, 'mode', 'uint8') as number,
  }
}

export function inputsToWire(model: LoadedModel, tensors: readonly Int16Array[]): WireInputs {
  return Object.fromEntries(
    model.model.inputs.map((id, i) => {
      const spec = model.model.tensors[id] as TensorInfo
      return [spec.name, { shape: [...spec.shape], data: Array.from(tensors[i] as Int16Array) }]
    }),
  )
}

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
