/**
 * Execution tags (docs/protocol.md, "Execution tags"): with each receipt it attests, a verifier sends
 * an 8-byte tag that only a party knowing the receipt's outputs can compute. Receipts commit to their
 * outputs by `outputHash` (a sha256 tree of the outputs' bytes) and verifiers are served inputs only,
 * so a verifier that did not execute cannot make the tag; the node and the client, who hold the
 * outputs, can show a wrong tag on-chain (`Settlement.refuteAttestation`) and the verifier is slashed.
 * Mirrors `SettlementChallenges._executionTag`.
 *
 * @example
 * const secret = executionSecret(outputs.map((o) => o.raw))
 * const tags = packTags(matched.map((i) => executionTag(secrets[i], verifier, batchId, i)))
 */
import { tensorBytes } from '@verity/runtime/core'
import { type Address, concat, encodeAbiParameters, type Hex, keccak256, size, slice, toHex } from 'viem'

/** Bytes of one tag (`Settlement.TAG_BYTES`). */
export const TAG_BYTES = 8

/**
 * keccak256(abi.encode(bytes[])) of the output tensors' canonical (little-endian) bytes: the secret a
 * receipt's tags are made from. Not derivable from `outputHash`, which hashes the same bytes by sha256.
 */
export function executionSecret(outputs: readonly (Int16Array | Uint8Array)[]): Hex {
  const bytes = outputs.map((t) => toHex(t instanceof Uint8Array ? t : tensorBytes(t)))
  return keccak256(encodeAbiParameters([{ type: 'bytes[]' }], [bytes]))
}

/** The tag of receipt `receiptIndex` of batch `batchId` for `verifier`, given the receipt's secret. */
export function executionTag(secret: Hex, verifier: Address, batchId: bigint | number, receiptIndex: number): Hex {
  const encoded = encodeAbiParameters(
    [{ type: 'bytes32' }, { type: 'address' }, { type: 'uint256' }, { type: 'uint32' }],
    [secret, verifier, BigInt(batchId), receiptIndex],
  )
  return slice(keccak256(encoded), 0, TAG_BYTES)
}

/** How many receipts an attestation's bitmap words set: how many tags it carries. */
export function countSet(bitmap: readonly bigint[]): number {
  let set = 0
  for (const word of bitmap) for (let w = word; w > 0n; w >>= 1n) if (w & 1n) set++
  return set
}

/** An attestation's `tags` argument: one tag per receipt set, in receipt order. */
export function packTags(tags: readonly Hex[]): Hex {
  for (const tag of tags) if (size(tag) !== TAG_BYTES) throw new TypeError(`expected ${TAG_BYTES}-byte tags, found ${tag}`)
  return tags.length === 0 ? '0x' : concat([...tags])
}

/** The tag an attestation (`bitmap` words, packed `tags`) gave receipt `receiptIndex`, if it set it. */
export function tagOf(bitmap: readonly bigint[], tags: Hex, receiptIndex: number): Hex | undefined {
  const word = bitmap[receiptIndex >> 8]
  if (word === undefined || ((word >> BigInt(receiptIndex & 255)) & 1n) === 0n) return undefined
  let rank = 0
  for (let i = 0; i < receiptIndex; i++) if (((bitmap[i >> 8] ?? 0n) >> BigInt(i & 255)) & 1n) rank++
  const at = rank * TAG_BYTES
  if (size(tags) < at + TAG_BYTES) return undefined
  return slice(tags, at, at + TAG_BYTES)
}
