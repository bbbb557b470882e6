import { countSet, TAG_BYTES } from '@verity/protocol'
import type { Hex } from 'viem'

/**
 * Execution tags for an attestation made without outputs (contract tests about other rules, gas
 * benches): one zero tag per receipt `bitmap` sets. Accepted by `attest` (right length); refutable by
 * anyone holding a receipt's outputs, which these tests never do.
 */
export function guessedTags(bitmap: readonly bigint[]): Hex {
  return `0x${'00'.repeat(countSet(bitmap) * TAG_BYTES)}`
}

/** `attest`'s arguments for `bitmap` with `guessedTags`. */
export function guessedAttestation(batchId: bigint, bitmap: readonly bigint[]): [bigint, bigint[], Hex] {
  return [batchId, [...bitmap], guessedTags(bitmap)]
}
