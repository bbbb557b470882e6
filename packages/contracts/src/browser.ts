/**
 * The part of @verity/contracts a web page can bundle (no Node built-ins, no runtime): hashing a
 * receipt, recovering its signer and checking its inclusion proof — what a browser needs to check a
 * receipt against a committed batch root by itself.
 */
export type { Receipt } from './eip712.js'
export { hashReceipt } from './hashing.js'
export { receiptRootFromProof } from './receiptTree.js'
export { recoverSigner } from './signatures.js'
