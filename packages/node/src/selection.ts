import { encodeAbiParameters, encodePacked, type Hex, hexToBigInt, keccak256 } from 'viem'

/**
 * The verifier's sampling seed for a batch: fixed by the hash of the block that includes the
 * commit, so the node could not know at execution time which receipts would be checked.
 */
export function selectionSeed(commitBlockHash: Hex, verifier: Hex, batchId: number): Hex {
  return keccak256(
    encodeAbiParameters([{ type: 'bytes32' }, { type: 'address' }, { type: 'uint256' }], [commitBlockHash, verifier, BigInt(batchId)]),
  )
}

/**
 * Pure: which receipts of a batch this verifier re-executes. Quorum receipts (mode ≥ 0x80) always;
 * optimistic receipts (mode 1) each with probability `rate`, by keccak(seed ‖ index); none (mode 0) never.
 */
export function selectReceipts(seed: Hex, modes: readonly number[], rate: number): number[] {
  const threshold = BigInt(Math.floor(Math.min(1, Math.max(0, rate)) * 2 ** 53)) << 11n
  const picked: number[] = []
  modes.forEach((mode, index) => {
    if (mode >= 0x80) picked.push(index)
    else if (mode === 1) {
      const draw = hexToBigInt(keccak256(encodePacked(['bytes32', 'uint256'], [seed, BigInt(index)]))) >> 192n
      if (rate >= 1 || draw < threshold) picked.push(index)
    }
  })
  return picked
}

/** Pure: the attestation bitmap words (bit i of word i / 256) for `count` receipts. */
export function bitmapOf(indexes: readonly number[], count: number): bigint[] {
  const words = new Array<bigint>(Math.ceil(count / 256)).fill(0n)
  for (const i of indexes) words[i >> 8] = words[i >> 8]! | (1n << BigInt(i & 255))
  return words
}
