export { ARTIFACT_VERSION, decodeArtifact, encodeArtifact, SEMANTICS } from './artifact/artifact.js'
export { canonicalJson } from './canonicalJson.js'
export type { MnistSet } from './datasets/mnist.js'
export { DatasetError, loadMnist, mnistImage } from './datasets/mnist.js'
export {
  ArtifactDecodeError,
  BaseError,
  InputMissingError,
  InputNotFiniteError,
  InputShapeError,
  InputTypeError,
  InvalidModelError,
  OnnxDecodeError,
  QuantizationError,
  UnsupportedOpError,
  WitnessError,
} from './errors.js'
export type { QuantizedRun, RunOptions, RunOutput, RunResult, Trace } from './execute.js'
export { commitTrace, run, runQuantized, tensorsHash } from './execute.js'
export { floorDiv, quantizeMultiplier, requant, roundDiv, rshift, sat16 } from './fixedPoint.js'
export type { FloatGraph, LowerOptions } from './graph/lowerOnnx.js'
export { lowerOnnx } from './graph/lowerOnnx.js'
export { calibrate, runFloat } from './graph/runFloat.js'
export type { ImportOptions, ImportResult, LayerReport, QuantizationReport } from './importOnnx.js'
export { importOnnx } from './importOnnx.js'
export type { TensorInput } from './input.js'
export { quantizeInputs } from './input.js'
export type { Hex, LoadedModel } from './loadModel.js'
export { loadModel } from './loadModel.js'
export {
  CHUNK_BYTES,
  chunkLeaves,
  fromHex,
  leafHash,
  merkleLevels,
  merkleProof,
  merkleRoot,
  nodeHash,
  rootFromProof,
  sha256,
  tensorRoot,
  toHex,
  ZERO_HASH,
} from './merkle.js'
export type { Model, ModelNode, TensorInfo } from './model.js'
export type { OnnxModel } from './onnx/decodeOnnx.js'
export { decodeOnnx, decodeTensorProto } from './onnx/decodeOnnx.js'
export { intOps, onnxOps } from './ops/registry.js'
export type { IntNode, IntOp } from './ops/types.js'
export { seededRandom } from './seededRandom.js'
export type { FloatTensor } from './tensor.js'
export { tensorBytes } from './tensorBytes.js'
export type { ChunkOpening, TensorOpening, Witness, WitnessCheck } from './witness.js'
export { openValue, recomputeValue, verifyWitness } from './witness.js'
