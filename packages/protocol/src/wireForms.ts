import { InputMissingError, InputShapeError, InputTypeError, type LoadedModel, type TensorInfo } from '@verity/runtime/core'
import type { Address, Hex } from 'viem'
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
