import { type Address, type Hex, hashTypedData } from 'viem'
import { eip712Types, type InferenceRequest, type Receipt, verityDomain } from './eip712.js'

type Domain = { chainId: number; settlement: Address }

/** EIP-712 digest of a receipt: what the node signs and the leaf of its batch tree. */
export function hashReceipt(receipt: Receipt, domain: Domain): Hex {
  return hashTypedData({ domain: verityDomain(domain), types: eip712Types, primaryType: 'Receipt', message: receipt })
}

/** EIP-712 digest of a request: what the client signs and the receipt's `requestHash`. */
export function hashRequest(request: InferenceRequest, domain: Domain): Hex {
  return hashTypedData({ domain: verityDomain(domain), types: eip712Types, primaryType: 'InferenceRequest', message: request })
}
