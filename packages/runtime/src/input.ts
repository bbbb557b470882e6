import { InputMissingError, InputNotFiniteError, InputShapeError, InputTypeError } from './errors.js'
import { sat16 } from './fixedPoint.js'
import type { LoadedModel } from './loadModel.js'
import type { TensorInfo } from './model.js'
import { sizeOf } from './tensor.js'

/** A real-valued input tensor: its shape and its values in row-major order. */
export type TensorInput = {
  shape: readonly number[]
  data: ArrayLike<number>
  /** Optional element type; only real types (float32, float64) are accepted. */
  dtype?: string
}

const realTypes = new Set(['float32', 'float64', 'float16'])

/**
 * Validates inputs against the model's input spec and quantizes them:
 * q = sat16(floor(x / scale + 1/2)) in IEEE-754 double arithmetic.
 * Throws INPUT_MISSING, INPUT_SHAPE_MISMATCH, INPUT_DTYPE_MISMATCH or INPUT_NOT_FINITE.
 */
export function quantizeInputs(m: LoadedModel, inputs: Record<string, TensorInput>): Int16Array[] {
  const specs = m.model.inputs.map((id) => m.model.tensors[id] as TensorInfo)
  const names = specs.map((s) => s.name)
  if (inputs === null || typeof inputs !== 'object' || Array.isArray(inputs)) throw new InputMissingError(names, [])
  const given = Object.keys(inputs)
  if (given.length !== names.length || !names.every((n) => Object.hasOwn(inputs, n))) {
    throw new InputMissingError(names, given)
  }
  return specs.map((spec) => quantizeInput(spec, inputs[spec.name] as TensorInput))
}

function describe(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  if (ArrayBuffer.isView(v)) return v.constructor.name
  return typeof v
}

export function quantizeInput(spec: TensorInfo, input: TensorInput): Int16Array {
  if (input === null || typeof input !== 'object') throw new InputTypeError(spec.name, 'an object {shape, data}', describe(input))
  if (input.dtype !== undefined && !realTypes.has(input.dtype)) throw new InputTypeError(spec.name, 'float32', String(input.dtype))
  const shape = input.shape
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new InputShapeError(spec.name, spec.shape, Array.isArray(shape) ? (shape as number[]) : [])
  }
  if (shape.length !== spec.shape.length || shape.some((d, i) => d !== spec.shape[i]))
    throw new InputShapeError(spec.name, spec.shape, shape)
  const data = input.data
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) throw new InputTypeError(spec.name, 'float32', 'int64')
  if (!(Array.isArray(data) || ArrayBuffer.isView(data))) throw new InputTypeError(spec.name, 'an array of numbers', describe(data))
  const n = sizeOf(spec.shape)
  if (data.length !== n) throw new InputShapeError(spec.name, spec.shape, [data.length])
  const scale = spec.scale
  const out = new Int16Array(n)
  for (let i = 0; i < n; i++) {
    const v = data[i]
    if (typeof v !== 'number') throw new InputTypeError(spec.name, 'float32', `${describe(v)} at flat index ${i}`)
    if (!Number.isFinite(v)) throw new InputNotFiniteError(spec.name, i, v)
    out[i] = sat16(Math.floor(v / scale + 0.5))
  }
  return out
}

/** Checks pre-quantized int16 inputs against the model's input spec. */
export function checkQuantizedInputs(m: LoadedModel, inputs: readonly Int16Array[]): void {
  const specs = m.model.inputs.map((id) => m.model.tensors[id] as TensorInfo)
  if (inputs.length !== specs.length)
    throw new InputMissingError(
      specs.map((s) => s.name),
      inputs.map((_, i) => `#${i}`),
    )
  specs.forEach((spec, i) => {
    const x = inputs[i]
    if (!(x instanceof Int16Array)) throw new InputTypeError(spec.name, 'Int16Array', describe(x))
    if (x.length !== sizeOf(spec.shape)) throw new InputShapeError(spec.name, spec.shape, [x.length])
  })
}
