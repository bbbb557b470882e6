/**
 * The light entry of `@verity/protocol`: the EIP-712 messages and their digests, the messages' JSON
 * forms, signature recovery and hex helpers — no viem or zod at run time, so a worker thread that
 * checks, runs and signs requests loads it in milliseconds (the full entry costs ~0.7 s of CPU).
 * The same modules as the full entry's: one definition of each rule.
 */
export { describeValue } from './describeValue.js'
export { EIP712_NAME, EIP712_VERSION, eip712Types, type InferenceRequest, type Receipt, verityDomain } from './eip712.js'
export { hashReceipt, hashRequest } from './hashing.js'
export { bytesToHex, checksumAddress, hexToBytes, isAddress } from './hex.js'
export { InvalidBase64Error, int16FromBase64, int16ToBase64 } from './int16Base64.js'
export { keccak256 } from './keccak.js'
export { addressOfPublicKey, installSignatureRecovery, recoverSigner, recoverSignerJs } from './signatures.js'
export {
  inputsFromWire,
  inputsJson,
  inputsToWire,
  OUTPUT_ENCODINGS,
  type OutputEncoding,
  outputsJson,
  outputsToWire,
  rawFromWire,
  receiptToWire,
  requestToWire,
  type WireInputs,
  type WireOutput,
  type WireOutputs,
  type WireReceipt,
  type WireRequest,
} from './wireForms.js'
