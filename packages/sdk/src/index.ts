export {
  ReceiptIdMismatchError,
  ReceiptNotInBatchError,
  ReceiptSignatureError,
  ServedReceiptError,
} from '@verity/contracts'
export {
  type AuditedAttestation,
  type AuditParameters,
  type AuditReturnType,
  audit,
  type RefuteAttestationParameters,
  refuteAttestation,
} from './audit.js'
export { type ChallengeInclusionParameters, type ChallengeInclusionReturnType, challengeInclusion } from './challengeInclusion.js'
export { type CheckAnswerErrorType, type CheckAnswerParameters, checkAnswer } from './checkAnswer.js'
export {
  type CreateModelLoaderParameters,
  createModelLoader,
  type ModelLoader,
  type ModelLoaderErrorType,
} from './createModelLoader.js'
export { type CreateVerityClientParameters, createVerityClient, type VerityClient } from './createVerityClient.js'
export { depositEscrow } from './depositEscrow.js'
export { type DiscoveredNode, discoverNodes } from './discoverNodes.js'
export {
  InferenceRejectedError,
  InvalidReceiptError,
  ModelFetchFailedError,
  ModelFetchTimeoutError,
  ModelHashMismatchError,
  ModelNotRegisteredError,
  ModelRootsMismatchError,
  ModelTooLargeError,
  ModelUnavailableError,
  NoNodeAvailableError,
  SdkError,
  TrustTimeoutError,
} from './errors.js'
export { type GetInferenceParameters, type GetInferenceReturnType, getInference } from './getInference.js'
export { type InferErrorType, type InferOutput, type InferParameters, type InferReturnType, infer } from './infer.js'
export { modelFromArtifact, type ReexecuteReturnType, reexecute } from './reexecute.js'
export { type VerifyReceiptParameters, type VerifyReceiptReturnType, verifyReceipt } from './verifyReceipt.js'
export { type WaitForTrustParameters, waitForTrust, watchTransitions, watchTrust } from './waitForTrust.js'
