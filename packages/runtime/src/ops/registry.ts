import { convInt, convOnnx } from './conv.js'
import { addInt, addOnnx, batchNormOnnx, channelAffineInt, divOnnx, mulInt, mulOnnx, subOnnx, sumOnnx } from './elementwise.js'
import {
  concatInt,
  concatOnnx,
  flattenOnnx,
  reshapeInt,
  reshapeOnnx,
  squeezeOnnx,
  transposeInt,
  transposeOnnx,
  unsqueezeOnnx,
} from './layout.js'
import { lrnInt, lrnOnnx } from './lrn.js'
import { denseInt, gemmOnnx, matmulActInt, matmulOnnx } from './matmul.js'
import { layerNormOnnx, normInt, powOnnx, reduceMeanOnnx, rmsNormOnnx, sqrtOnnx } from './norm.js'
import { averagePoolInt, averagePoolOnnx, globalAveragePoolOnnx, globalMaxPoolOnnx, maxPoolInt, maxPoolOnnx } from './pool.js'
import { expandInt, expandOnnx, gatherInt, gatherOnnx, maskFillInt, sliceInt, sliceOnnx, tileInt, tileOnnx, whereOnnx } from './select.js'
import { softmaxInt, softmaxOnnx } from './softmax.js'
import type { IntOp, OnnxOp } from './types.js'
import { clipInt, clipOnnx, leakyReluInt, leakyReluOnnx, lutFunctions, lutInt, lutOnnx, reluInt, reluOnnx } from './unary.js'

/** ONNX operators the importer accepts (default domain), by op_type. */
export const onnxOps: Record<string, OnnxOp> = {
  Conv: convOnnx,
  MatMul: matmulOnnx,
  Gemm: gemmOnnx,
  Add: addOnnx,
  Sub: subOnnx,
  Sum: sumOnnx,
  Mul: mulOnnx,
  Div: divOnnx,
  BatchNormalization: batchNormOnnx,
  Relu: reluOnnx,
  LeakyRelu: leakyReluOnnx,
  Clip: clipOnnx,
  Softmax: softmaxOnnx,
  MaxPool: maxPoolOnnx,
  AveragePool: averagePoolOnnx,
  GlobalAveragePool: globalAveragePoolOnnx,
  GlobalMaxPool: globalMaxPoolOnnx,
  Reshape: reshapeOnnx,
  Flatten: flattenOnnx,
  Squeeze: squeezeOnnx,
  Unsqueeze: unsqueezeOnnx,
  Transpose: transposeOnnx,
  Concat: concatOnnx,
  LRN: lrnOnnx,
  Gather: gatherOnnx,
  Slice: sliceOnnx,
  Tile: tileOnnx,
  Expand: expandOnnx,
  Where: whereOnnx,
  LayerNormalization: layerNormOnnx,
  RMSNormalization: rmsNormOnnx,
  Pow: powOnnx,
  Sqrt: sqrtOnnx,
  ReduceMean: reduceMeanOnnx,
  ...Object.fromEntries(Object.keys(lutFunctions).map((name) => [name, lutOnnx(name)])),
}

/** The integer ops of a quantized model, by name. Their semantics are docs/semantics.md. */
export const intOps: Record<string, IntOp> = {
  Conv: convInt,
  Dense: denseInt,
  MatMulAct: matmulActInt,
  Add: addInt,
  Mul: mulInt,
  ChannelAffine: channelAffineInt,
  Relu: reluInt,
  LeakyRelu: leakyReluInt,
  Clip: clipInt,
  Lut: lutInt,
  Softmax: softmaxInt,
  MaxPool: maxPoolInt,
  AveragePool: averagePoolInt,
  Reshape: reshapeInt,
  Transpose: transposeInt,
  Concat: concatInt,
  LRN: lrnInt,
  Gather: gatherInt,
  Slice: sliceInt,
  Tile: tileInt,
  Expand: expandInt,
  MaskFill: maskFillInt,
  Norm: normInt,
}
