import { TAG_BYTES } from '@verity/protocol'
import type { Hex } from 'viem'

/**
 * Execution tags for an attestation made without outputs (contract tests about other rules, gas
 * benches): one zero tag per receipt `bitmap` sets. Accepted by `attest` (right length); refutable by
 * anyone holding a receipt's outputs, which these tests never do.
 */
export function guessedTags(bitmap: readonly bigint[]): Hex {
  let set = 0
  for (const word of bitmap) for (let w = word; w > 0n; w >>= 1n) if (w & 1n) set++
  return `0x${'00'.repeat(set * TAG_BYTES)}`
}
