export { type BatchDecision, Batcher, decideBatch, decideFinalize, decideRedemptions, stakeCapacity } from './batcher.js'
export { type DataResponderContext, type DataResponse, dataResponseOf, respondToDataChallenges } from './dataResponder.js'
export type { DecoyClientCosts, DecoyClientPoolOptions } from './decoyClientPool.js'
export { createDefense, type DefenseContext, honestReplay, type Replay } from './defense.js'
export { ApiError, errorBody, httpStatusOf } from './errors.js'
export { createHub } from './hub.js'
export { type Executor, honestExecutor } from './infer/executeRequest.js'
export { createInferenceNode, type InferenceNode, type InferenceNodeOptions, type InferenceNodeParts } from './inferenceNode.js'
export { COMPUTE_BUCKETS, GAP_BUCKETS, Metrics } from './metrics.js'
export { publishModel } from './publishModel.js'
export { ReceiptStore } from './receiptStore.js'
export { assignmentAt, sampledReceipts, verifierSelection } from './sampledReceipts.js'
export type { NodeRecord, SamplingPolicy } from './selection.js'
export {
  type Assignment,
  assignedLeaves,
  bitmapOf,
  perVerifierRate,
  rateThreshold,
  SELECT_ALL,
  type Selection,
  samplingRate,
  samplingRateBps,
  selectionDraw,
  selectionDraws,
  selectReceipts,
} from './selection.js'
export { serveApp } from './serveApp.js'
export { createVerifier, type Verifier, type VerifierOptions, type VerifierParts } from './verifier.js'
export { VerifierStore } from './verifierStore.js'
