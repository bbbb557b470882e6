/**
 * The part of @verity/contracts a web page can bundle (no Node built-ins): hashing a receipt,
 * recovering its signer, checking its inclusion proof, and decoding receipts and inputs from their
 * wire form — what a browser needs to check a receipt against a committed batch root by itself —
 * and deriving a model id from an artifact.
 */

export type { Receipt } from '@verity/protocol'
export {
  batchRootFromProof,
  boundedFetch,
  checkServedReceipt,
  FetchError,
  fetchJson,
  hashReceipt,
  inputsFromWire,
  MODEL_FETCH_LIMITS,
  receiptFromWire,
  receiptRootFromProof,
  recoverSigner,
  ServedReceiptError,
  type WireInputs,
} from '@verity/protocol'
export { identifyModel, type ModelIdentity, type ModelRoots, modelIdOf } from './modelId.js'
