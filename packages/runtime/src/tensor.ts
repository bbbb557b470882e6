/** Element types that can appear while importing a model (ONNX TensorProto.DataType names). */
export type DType = 'float32' | 'float64' | 'float16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool'

/**
 * A tensor during import: every value held as a double (exact for all integer types we accept,
 * and for float32). Shapes are fully static.
 */
export type FloatTensor = {
  dtype: DType
  shape: number[]
  data: Float64Array
}

/** The integer element types of a quantized model. */
export type IntDType = 'int8' | 'int16' | 'int32'

export type IntArray = Int8Array | Int16Array | Int32Array

export const bytesPerElement: Record<IntDType, number> = { int8: 1, int16: 2, int32: 4 }

export function sizeOf(shape: readonly number[]): number {
  let n = 1
  for (const d of shape) n *= d
  return n
}

export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length)
  let s = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s
    s *= shape[i] as number
  }
  return strides
}

export function floatTensor(shape: number[], data?: Float64Array, dtype: DType = 'float32'): FloatTensor {
  return { dtype, shape, data: data ?? new Float64Array(sizeOf(shape)) }
}

export function allocInt(dtype: IntDType, size: number): IntArray {
  if (dtype === 'int8') return new Int8Array(size)
  if (dtype === 'int16') return new Int16Array(size)
  return new Int32Array(size)
}

/** Multidirectional (numpy) broadcasting of two shapes; undefined when incompatible. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] | undefined {
  const rank = Math.max(a.length, b.length)
  const out = new Array<number>(rank)
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1
    const db = b[b.length - rank + i] ?? 1
    if (da !== db && da !== 1 && db !== 1) return undefined
    out[i] = da === 1 ? db : da
  }
  return out
}

/**
 * For each flat index of `outShape`, the flat index into a tensor of `inShape` broadcast to it.
 * Returned as a function of the output index (used by the single-value path) — see
 * `broadcastIndexMap` for the bulk form.
 */
export function broadcastIndex(outShape: readonly number[], inShape: readonly number[], outIndex: number): number {
  const rank = outShape.length
  const offset = rank - inShape.length
  let inIndex = 0
  let inStride = 1
  let rest = outIndex
  for (let i = rank - 1; i >= 0; i--) {
    const d = outShape[i] as number
    const coord = rest % d
    rest = (rest - coord) / d
    if (i >= offset) {
      const di = inShape[i - offset] as number
      if (di !== 1) inIndex += coord * inStride
      inStride *= di
    }
  }
  return inIndex
}

/** Bulk broadcast map: `map[o]` is the input flat index for output flat index `o`. */
export function broadcastIndexMap(outShape: readonly number[], inShape: readonly number[]): Int32Array {
  const n = sizeOf(outShape)
  const map = new Int32Array(n)
  if (sameShape(outShape, inShape)) {
    for (let i = 0; i < n; i++) map[i] = i
    return map
  }
  for (let i = 0; i < n; i++) map[i] = broadcastIndex(outShape, inShape, i)
  return map
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Normalizes a possibly negative axis against a rank. */
export function normalizeAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis
}
