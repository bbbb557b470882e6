/**
 * The platform-neutral core of the runtime — artifacts, integer execution, commitments, witnesses,
 * input quantization — with no Node built-ins, so a web page can bundle it (the dashboard re-executes
 * an inference in the browser with it). The package's main entry adds the ONNX importer and datasets.
 */
export { ARTIFACT_VERSION, decodeArtifact, encodeArtifact, SEMANTICS } from './artifact/artifact.js'
export { canonicalJson } from './canonicalJson.js'
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
  TokenizeError,
  UnsupportedOpError,
  WitnessError,
} from './errors.js'
export type { QuantizedRun, RunOptions, RunOutput, RunResult, Trace } from './execute.js'
export { commitTrace, run, runQuantized, tensorsHash } from './execute.js'
export { floorDiv, quantizeMultiplier, requant, roundDiv, rshift, sat16 } from './fixedPoint.js'
export type { TensorInput } from './input.js'
export { quantizeInputs } from './input.js'
export type { Decoder } from './lm/decoder.js'
export { createDecoder } from './lm/decoder.js'
export type { GenerateOptions, Generation, GenerationStep } from './lm/generate.js'
export { generate, stepLeaf } from './lm/generate.js'
export type { LanguageModel } from './lm/languageModel.js'
export { languageModelFromArtifact, languageModelOf } from './lm/languageModel.js'
export type { SampleOptions } from './lm/sampleToken.js'
export { POW2_FRACTION, sampleToken } from './lm/sampleToken.js'
export type { Tokenizer } from './lm/tokenizer.js'
export { charTokenizer, llama2cTokenizer } from './lm/tokenizer.js'
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
export { modelCost } from './modelCost.js'
export { intOps, onnxOps } from './ops/registry.js'
export type { IntNode, IntOp } from './ops/types.js'
export { seededRandom } from './seededRandom.js'
export type { FloatTensor } from './tensor.js'
export { tensorBytes } from './tensorBytes.js'
export type { ChunkOpening, TensorOpening, Witness, WitnessCheck } from './witness.js'
export { openValue, recomputeValue, verifyWitness } from './witness.js'
