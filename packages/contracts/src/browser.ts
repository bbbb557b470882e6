/**
 * The part of @verity/contracts a web page can bundle (no Node built-ins): hashing a receipt,
 * recovering its signer, checking its inclusion proof, and decoding receipts and inputs from their
 * wire form — what a browser needs to check a receipt against a committed batch root by itself —
 * and deriving a model id from an artifact.
 */
export { boundedFetch, FetchError, fetchJson, MODEL_FETCH_LIMITS } from './boundedFetch.js'
export type { Receipt } from './eip712.js'
export { hashReceipt } from './hashing.js'
export { identifyModel, type ModelIdentity, type ModelRoots, modelIdOf } from './modelId.js'
export { batchRootFromProof, receiptRootFromProof } from './receiptTree.js'
export { checkServedReceipt, ServedReceiptError } from './servedReceipt.js'
export { recoverSigner } from './signatures.js'
export { inputsFromWire, receiptFromWire, type WireInputs } from './wire.js'
