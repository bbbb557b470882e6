export {
  BATCH_FETCH_LIMITS,
  type BoundedFetchOptions,
  type BoundedResponse,
  boundedFetch,
  DEFAULT_FETCH_MAX_BYTES,
  DEFAULT_FETCH_TIMEOUT_MS,
  FetchError,
  FetchFailedError,
  FetchTimeoutError,
  fetchJson,
  MODEL_FETCH_LIMITS,
  ResponseInvalidError,
  ResponseTooLargeError,
} from './boundedFetch.js'
export { custodyProblem } from './custody.js'
export { boundedDetails, describeValue } from './describeValue.js'
export { EIP712_NAME, EIP712_VERSION, eip712Types, type InferenceRequest, type Receipt, verityDomain } from './eip712.js'
export { disputeGameAbi, disputeGameBytecode } from './generated/disputeGame.js'
export { modelRegistryAbi, modelRegistryBytecode } from './generated/modelRegistry.js'
export { nodeRegistryAbi, nodeRegistryBytecode } from './generated/nodeRegistry.js'
export { oneStepVerifierAbi, oneStepVerifierBytecode } from './generated/oneStepVerifier.js'
export { settlementAbi, settlementBytecode } from './generated/settlement.js'
export { tensorHasherAbi, tensorHasherBytecode } from './generated/tensorHasher.js'
export { verityTokenAbi, verityTokenBytecode } from './generated/verityToken.js'
export { hashReceipt, hashRequest } from './hashing.js'
export { decodeMode, encodeMode, InvalidModeError, type VerificationMode } from './mode.js'
export {
  type GraphHeader,
  type GraphInputRef,
  type GraphOp,
  graphHeaderAbi,
  graphOpAbi,
  hashGraphOp,
  MAX_DISPUTE_TURNS,
  type ModelGraph,
  modelGraph,
} from './modelGraph.js'
export { identifyModel, type ModelIdentity, type ModelRoots, modelIdOf, modelRootsOf, specHashOf } from './modelId.js'
export { nativeSecp256k1, recoverSigner, signDigest } from './nativeSignatures.js'
export {
  isSumOp,
  ONE_STEP_OPS,
  type OneStepCase,
  type OneStepOpening,
  type OneStepProofCase,
  type OneStepRead,
  type OneStepReads,
  type OneStepTensor,
  oneStepCase,
  oneStepParams,
  oneStepProofCase,
  openTape,
  partialSums,
  sumReads,
  sumValue,
} from './oneStep.js'
export { buildReceiptTree, type ReceiptTree, receiptRootFromProof, receiptTreeDepth, verifyReceiptProof } from './receiptTree.js'
export { BatchStatus, ChallengeStatus, GamePhase, GameReason, Role, type RoleName } from './roles.js'
export {
  type CheckServedReceiptParameters,
  checkServedReceipt,
  ReceiptIdMismatchError,
  ReceiptNotInBatchError,
  ReceiptSignatureError,
  ServedReceiptError,
} from './servedReceipt.js'
export {
  type BatchTrustEvent,
  batchTrustEventOf,
  bitmapHas,
  type ReceiptChainState,
  reached,
  receiptChainState,
  TRUST_EVENT_NAMES,
  TRUST_ORDER,
  type TrustEvent,
  type TrustLevel,
  trustOf,
} from './trust.js'
export {
  inputsFromWire,
  inputsToWire,
  receiptFromWire,
  receiptToWire,
  requestFromWire,
  requestToWire,
  WireFormatError,
  type WireInputs,
  type WireReceipt,
  type WireRequest,
} from './wire.js'
