/**
 * The EIP-712 domain and typed structs of the Verity protocol: the single definition shared by
 * TypeScript (signing, hashing) and Solidity (`contracts/generated/VerityTypes.sol` is generated
 * from this file by `npm run build:contracts`).
 *
 * @example
 * const digest = hashTypedData({ domain: verityDomain({ chainId, settlement }), types: eip712Types, primaryType: 'Receipt', message: receipt })
 */
import type { Address, Hex } from 'viem'

export const EIP712_NAME = 'Verity'
export const EIP712_VERSION = '1'

export const eip712Types = {
  /**
   * Signed by the client: asks `node` to run `modelId` on `inputHash` for at most `maxFee`, and is the
   * client's payment voucher on its channel with `node`: `channelTotal` is the running total the
   * client authorizes `node` to debit from its escrow, this request included (docs/protocol.md, "Money").
   */
  InferenceRequest: [
    { name: 'modelId', type: 'bytes32' },
    { name: 'inputHash', type: 'bytes32' },
    { name: 'node', type: 'address' },
    { name: 'mode', type: 'uint8' },
    { name: 'maxFee', type: 'uint96' },
    { name: 'nonce', type: 'uint64' },
    { name: 'deadline', type: 'uint64' },
    { name: 'channelTotal', type: 'uint128' },
  ],
  /** Signed by the inference node: what it answered, for which request, at which fee. */
  Receipt: [
    { name: 'requestHash', type: 'bytes32' },
    { name: 'modelId', type: 'bytes32' },
    { name: 'inputHash', type: 'bytes32' },
    { name: 'outputHash', type: 'bytes32' },
    { name: 'node', type: 'address' },
    { name: 'client', type: 'address' },
    { name: 'fee', type: 'uint96' },
    { name: 'issuedAt', type: 'uint64' },
    { name: 'mode', type: 'uint8' },
  ],
} as const

export type InferenceRequest = {
  modelId: Hex
  inputHash: Hex
  node: Address
  mode: number
  maxFee: bigint
  nonce: bigint
  deadline: bigint
  /** Running total authorized to `node` on this client's channel, this request included. */
  channelTotal: bigint
}

export type Receipt = {
  requestHash: Hex
  modelId: Hex
  inputHash: Hex
  outputHash: Hex
  node: Address
  client: Address
  fee: bigint
  issuedAt: bigint
  mode: number
}

/** The EIP-712 domain: the Settlement contract on one chain verifies every request and receipt. */
export function verityDomain(parameters: { chainId: number; settlement: Address }) {
  return {
    name: EIP712_NAME,
    version: EIP712_VERSION,
    chainId: parameters.chainId,
    verifyingContract: parameters.settlement,
  } as const
}
