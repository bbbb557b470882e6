import protobuf from 'protobufjs'
import { InvalidModelError, OnnxDecodeError } from '../errors.js'
import type { DType, FloatTensor } from '../tensor.js'
import { sizeOf } from '../tensor.js'
import { onnxSchema } from './schema.js'

/** An attribute value after decoding. */
export type AttrValue = number | number[] | string | string[] | FloatTensor

export type OnnxNode = {
  name: string
  opType: string
  domain: string
  inputs: string[]
  outputs: string[]
  attrs: Map<string, AttrValue>
}

export type OnnxValueInfo = { name: string; dtype: DType | 'unsupported'; shape: (number | string)[] }

/** A decoded ONNX model: initializers converted to tensors, nodes kept as written. */
export type OnnxModel = {
  irVersion: number
  opset: number
  producer: string
  inputs: OnnxValueInfo[]
  outputs: OnnxValueInfo[]
  initializers: Map<string, FloatTensor>
  nodes: OnnxNode[]
}

/** The largest tensor the importer accepts (elements). */
const MAX_ELEMENTS = 2 ** 31

const root = protobuf.parse(onnxSchema, { keepCase: true }).root
const ModelProto = root.lookupType('onnx.ModelProto')
const TensorProto = root.lookupType('onnx.TensorProto')

const dataTypes: Record<number, DType | undefined> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  9: 'bool',
  10: 'float16',
  11: 'float64',
}

// protobufjs returns int64 fields as Long objects (or numbers when small); normalize them.
type LongLike = number | { toNumber(): number }
function num(v: LongLike | null | undefined): number {
  if (v == null) return 0
  return typeof v === 'number' ? v : v.toNumber()
}

/**
 * Decodes an ONNX model file. Throws `OnnxDecodeError` (code `ONNX_DECODE_FAILED`) for bytes
 * that are not a well-formed ONNX model.
 */
export function decodeOnnx(bytes: Uint8Array): OnnxModel {
  if (bytes.length === 0) throw new OnnxDecodeError('the file is empty')
  // biome-ignore lint/suspicious/noExplicitAny: protobufjs messages are untyped
  let m: any
  try {
    m = ModelProto.decode(bytes)
  } catch (cause) {
    throw new OnnxDecodeError('protobuf decoding failed (truncated or not an ONNX file)', {
      cause,
      details: { bytes: bytes.length, reason: String((cause as Error).message ?? cause) },
    })
  }
  const graph = m.graph
  if (!graph || num(m.ir_version) <= 0 || (graph.node?.length ?? 0) === 0) {
    throw new OnnxDecodeError('no graph with nodes and an IR version was found', {
      details: { irVersion: num(m.ir_version), nodes: graph?.node?.length ?? 0 },
    })
  }
  let opset = 0
  for (const o of m.opset_import ?? []) {
    if (o.domain === '' || o.domain === 'ai.onnx') opset = num(o.version)
  }
  if (opset === 0) opset = 1

  const initializers = new Map<string, FloatTensor>()
  for (const t of graph.initializer ?? []) initializers.set(t.name, tensorFromProto(t))

  const valueInfo = (v: {
    name: string
    type?: { tensor_type?: { elem_type: number; shape?: { dim?: { dim_value?: LongLike; dim_param?: string }[] } } }
  }): OnnxValueInfo => {
    const tt = v.type?.tensor_type
    const shape = (tt?.shape?.dim ?? []).map((d) => (d.dim_param ? d.dim_param : num(d.dim_value)))
    return { name: v.name, dtype: dataTypes[tt?.elem_type ?? 0] ?? 'unsupported', shape }
  }

  const nodes: OnnxNode[] = graph.node.map(
    // biome-ignore lint/suspicious/noExplicitAny: protobufjs messages are untyped
    (n: any, i: number): OnnxNode => ({
      name: n.name || `${n.op_type}_${i}`,
      opType: n.op_type,
      domain: n.domain ?? '',
      inputs: [...(n.input ?? [])],
      outputs: [...(n.output ?? [])],
      attrs: decodeAttributes(n.attribute ?? []),
    }),
  )

  return {
    irVersion: num(m.ir_version),
    opset,
    producer: m.producer_name ?? '',
    inputs: (graph.input ?? []).map(valueInfo).filter((v: OnnxValueInfo) => !initializers.has(v.name)),
    outputs: (graph.output ?? []).map(valueInfo),
    initializers,
    nodes,
  }
}

// biome-ignore lint/suspicious/noExplicitAny: protobufjs messages are untyped
function decodeAttributes(list: any[]): Map<string, AttrValue> {
  const attrs = new Map<string, AttrValue>()
  for (const a of list) {
    switch (a.type) {
      case 1:
        attrs.set(a.name, a.f)
        break
      case 2:
        attrs.set(a.name, num(a.i))
        break
      case 3:
        // An empty string is absent on the wire, and protobufjs then gives a plain [] (not bytes).
        attrs.set(a.name, new TextDecoder().decode(Uint8Array.from(a.s ?? [])))
        break
      case 4:
        if (!a.t) throw new OnnxDecodeError(`attribute "${a.name}" of type TENSOR has no tensor`)
        attrs.set(a.name, tensorFromProto(a.t))
        break
      case 6:
        attrs.set(a.name, [...a.floats])
        break
      case 7:
        attrs.set(a.name, a.ints.map(num))
        break
      case 8:
        attrs.set(
          a.name,
          a.strings.map((s: Uint8Array) => new TextDecoder().decode(s)),
        )
        break
      default:
        // Graph-valued and other attribute kinds are kept out; ops that need them are unsupported.
        break
    }
  }
  return attrs
}

/** Decodes a serialized TensorProto (as used by the ONNX backend test data sets). */
export function decodeTensorProto(bytes: Uint8Array): FloatTensor & { name: string } {
  let t: unknown
  try {
    t = TensorProto.decode(bytes)
  } catch (cause) {
    throw new OnnxDecodeError('TensorProto decoding failed', { cause })
  }
  // biome-ignore lint/suspicious/noExplicitAny: protobufjs messages are untyped
  return { ...tensorFromProto(t as any), name: (t as any).name ?? '' }
}

// biome-ignore lint/suspicious/noExplicitAny: protobufjs messages are untyped
function tensorFromProto(t: any): FloatTensor {
  const dtype = dataTypes[t.data_type]
  const shape: number[] = (t.dims ?? []).map(num)
  if (!dtype) {
    throw new InvalidModelError(`Tensor "${t.name}" has an unsupported element type`, {
      tensor: t.name,
      dataType: t.data_type,
      supported: Object.values(dataTypes),
    })
  }
  if (t.data_location === 1) {
    throw new InvalidModelError(`Tensor "${t.name}" stores its data externally, which is not supported`, {
      tensor: t.name,
    })
  }
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0) || sizeOf(shape) > MAX_ELEMENTS) {
    throw new InvalidModelError(`Tensor "${t.name}" has invalid dimensions`, {
      tensor: t.name,
      expected: `non-negative, at most ${MAX_ELEMENTS} elements`,
      found: shape,
    })
  }
  const n = sizeOf(shape)
  const data = new Float64Array(n)
  const raw: Uint8Array | undefined = t.raw_data && t.raw_data.length > 0 ? t.raw_data : undefined
  if (raw) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength)
    const width = { float32: 4, float64: 8, float16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1 }[dtype]
    if (raw.byteLength !== n * width) {
      throw new InvalidModelError(`Tensor "${t.name}" raw data has the wrong length`, {
        tensor: t.name,
        expectedBytes: n * width,
        foundBytes: raw.byteLength,
      })
    }
    for (let i = 0; i < n; i++) {
      switch (dtype) {
        case 'float32':
          data[i] = view.getFloat32(i * 4, true)
          break
        case 'float64':
          data[i] = view.getFloat64(i * 8, true)
          break
        case 'float16':
          data[i] = halfToFloat(view.getUint16(i * 2, true))
          break
        case 'int64':
          data[i] = Number(view.getBigInt64(i * 8, true))
          break
        case 'int32':
          data[i] = view.getInt32(i * 4, true)
          break
        case 'int16':
          data[i] = view.getInt16(i * 2, true)
          break
        case 'int8':
          data[i] = view.getInt8(i)
          break
        default:
          data[i] = view.getUint8(i)
      }
    }
  } else {
    const src: LongLike[] =
      dtype === 'float32' ? t.float_data : dtype === 'float64' ? t.double_data : dtype === 'int64' ? t.int64_data : t.int32_data
    if ((src?.length ?? 0) !== n) {
      throw new InvalidModelError(`Tensor "${t.name}" has ${src?.length ?? 0} values, expected ${n}`, {
        tensor: t.name,
        expected: n,
        found: src?.length ?? 0,
      })
    }
    for (let i = 0; i < n; i++) {
      const v = num(src[i])
      data[i] = dtype === 'float16' ? halfToFloat(v) : v
    }
  }
  return { dtype, shape, data }
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1
  const e = (h >> 10) & 0x1f
  const f = h & 0x3ff
  if (e === 0) return s * 2 ** -14 * (f / 1024)
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY
  return s * 2 ** (e - 15) * (1 + f / 1024)
}
