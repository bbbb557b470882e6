/**
 * Verity's protocol, shared by nodes, verifiers, clients, the dashboard and the devnet: the EIP-712
 * messages and their hashes, the HTTP API's schema (validated on both ends; docs/openapi.json is
 * generated from it), the checks a served receipt must pass, the trust level derived from chain
 * facts, and fetches bounded in time and size. Browser-safe: no Node built-ins.
 */
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
// The light entry's exports (messages, digests, wire forms, recovery, hex helpers): the same modules.
export * from './core.js'
export { custodyProblem } from './custody.js'
export {
  batchLeavesFor,
  decoyCommitOf,
  decoyCount,
  decoyOutputHashOf,
  decoyPosition,
  decoyPositions,
  decoySecretOf,
  NO_DECOYS_COMMIT,
  NO_DECOYS_SALT,
} from './decoys.js'
export { boundedDetails } from './describeValue.js'
export { countSet, executionSecret, executionTag, packTags, TAG_BYTES, tagOf } from './executionTag.js'
export {
  BatchResponse,
  ChannelResponse,
  ChecksFeed,
  DataResponse,
  type Endpoint,
  ErrorBody,
  InferBody,
  InferenceResponse,
  InferResponse,
  NodeHealth,
  nodeEndpoints,
  OutputTensor,
  ProofResponse,
  ReceiptsFeed,
  TrustEventSchema,
  TrustLevelSchema,
  VerifierHealth,
  verifierEndpoints,
} from './httpApi.js'
export { decodeMode, encodeMode, InvalidModeError, type VerificationMode } from './mode.js'
export { nodeOpenApi, verifierOpenApi } from './openapi.js'
export { fetchValid, readResponse } from './readResponse.js'
export {
  type BatchTree,
  batchProofLength,
  batchRootFromProof,
  buildBatchTree,
  buildReceiptTree,
  type ReceiptTree,
  receiptRootFromProof,
  receiptTreeDepth,
  verifyBatchProof,
  verifyReceiptProof,
} from './receiptTree.js'
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
export { parseWire, receiptFromWire, requestFromWire, WireFormatError } from './wire.js'
export {
  AddressString,
  apiRegistry,
  Bytes32,
  SignatureHex,
  uintString,
  WireInputsSchema,
  WireReceiptSchema,
  WireRequestSchema,
} from './wireSchema.js'
