import type { Attrs } from './ops/types.js'
import type { IntArray, IntDType } from './tensor.js'

export type TensorKind = 'input' | 'activation' | 'const'

/** One tensor of a quantized model. Activations are int16 with value = q · scale. */
export type TensorInfo = {
  name: string
  kind: TensorKind
  dtype: IntDType
  shape: number[]
  /** Real value of one integer step; 0 for parameter tensors that have no real scale. */
  scale: number
}

export type ModelNode = {
  name: string
  op: string
  inputs: number[]
  output: number
  attrs: Attrs
}

/** Where the model came from: the ONNX file's name and SHA-256, and its opset. */
export type ModelSource = { file: string; sha256: string; opset: number }

/** A quantized model: the integer graph and its constant tensors. Serialized by `encodeArtifact`. */
export type Model = {
  name: string
  source: ModelSource
  inputs: number[]
  outputs: number[]
  tensors: TensorInfo[]
  nodes: ModelNode[]
  constants: Map<number, IntArray>
}
