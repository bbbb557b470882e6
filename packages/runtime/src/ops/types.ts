import type { AttrValue, OnnxNode } from '../onnx/decodeOnnx.js'
import type { FloatTensor, IntArray, IntDType } from '../tensor.js'

/** Resolved attributes: plain numbers and number arrays, nothing else. */
export type Attrs = Record<string, number | number[]>

/** A node of the float graph after constant folding and shape inference. */
export type FloatNode = {
  name: string
  op: string
  /** Tensor names: activations and constants, in the op's input order. */
  inputs: string[]
  output: string
  attrs: Attrs
}

export type ResolveContext = {
  opset: number
  shape(name: string): number[]
  constant(name: string): FloatTensor | undefined
}

export type Resolved = { attrs: Attrs; shape: number[]; inputs?: string[] }

export type QuantizeContext = {
  /** Width of Dense weights: 8 (default) or 16 bits. */
  weightBits: 8 | 16
  /** The activation scale calibrated for a float tensor (max |x| / 32767). */
  calibratedScale(name: string): number
  /** The scale already assigned to a quantized activation. */
  scaleOf(name: string): number
  /** The tensor id of an activation (graph input or earlier node output). */
  activation(name: string): number
  /** The float value of a constant input, when the input is a constant. */
  constant(name: string): FloatTensor | undefined
  /** Adds a constant integer tensor to the model; returns its tensor id. */
  addConst(label: string, dtype: IntDType, shape: number[], values: ArrayLike<number>): number
  /** Quantizes a float constant used as an activation-like operand (int16, own scale). */
  constActivation(label: string, t: FloatTensor): { id: number; scale: number }
  /** An elementwise operand: the activation, or the constant quantized with its own scale. */
  operand(node: FloatNode, name: string): { id: number; scale: number }
  shape(name: string): number[]
}

/** What quantizing one float node produces. */
export type QuantizedNode = { op: string; inputs: number[]; attrs: Attrs; outScale: number }

/** The float-stage definition of an ONNX operator: resolve, evaluate in float64, quantize. */
export type OnnxOp = {
  resolve(node: OnnxNode, ctx: ResolveContext): Resolved
  evalFloat(node: FloatNode, inputs: FloatTensor[]): FloatTensor
  quantize(node: FloatNode, q: QuantizeContext): QuantizedNode
}

/** A node of the integer model, with the shapes of its inputs and output. */
export type IntNode = {
  index: number
  name: string
  op: string
  inputs: number[]
  output: number
  attrs: Attrs
  inShapes: number[][]
  outShape: number[]
}

/** Reads one value of the node's input at position `input` (flat index `index`). */
export type Reader = (input: number, index: number) => number

/**
 * The integer definition of one op: a fast kernel over whole tensors, and the reference
 * single-value form used by witnesses (and mirrored by the Solidity one-step check).
 */
export type IntOp = {
  run(node: IntNode, inputs: IntArray[]): Int16Array
  evalOne(node: IntNode, outIndex: number, read: Reader): number
}

export function attrInt(node: OnnxNode, name: string, fallback: number): number {
  const v = node.attrs.get(name)
  return typeof v === 'number' ? v : fallback
}

export function attrFloat(node: OnnxNode, name: string, fallback: number): number {
  const v = node.attrs.get(name)
  return typeof v === 'number' ? v : fallback
}

export function attrInts(node: OnnxNode, name: string): number[] | undefined {
  const v = node.attrs.get(name)
  return Array.isArray(v) ? (v as number[]) : undefined
}

export function attrString(node: OnnxNode, name: string, fallback: string): string {
  const v: AttrValue | undefined = node.attrs.get(name)
  return typeof v === 'string' ? v : fallback
}

export function num(attrs: Attrs, name: string): number {
  return attrs[name] as number
}

export function nums(attrs: Attrs, name: string): number[] {
  return attrs[name] as number[]
}
