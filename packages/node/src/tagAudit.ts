import { executionSecret, executionTag, rawFromWire, TAG_BYTES } from '@verity/protocol'
import { tensorsHash } from '@verity/runtime/core'
import { type Address, type Hex, size, slice } from 'viem'

/** An attestation as the chain recorded it (`Attested`): its verifier, bitmap words and packed tags. */
export type RecordedAttestation = { verifier: Address; bitmap: readonly bigint[]; tags: Hex }

/**
 * The outputs a node stored for a leaf (`outputs_json`: `{ name: { raw, … } }` in the model's output
 * order, `raw` in base64 or, in rows stored before it, an array of integers), as tensors, if they are the ones its receipt commits to; undefined otherwise (a decoy, whose
 * output hash has no outputs behind it, or a row that does not parse).
 */
export function committedOutputs(outputsJson: string, outputHash: Hex): Int16Array[] | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(outputsJson)
  } catch {
    return undefined
  }
  if (parsed === null || typeof parsed !== 'object') return undefined
  const outputs: Int16Array[] = []
  for (const tensor of Object.values(parsed as Record<string, { raw?: unknown }>)) {
    try {
      outputs.push(rawFromWire(tensor?.raw))
    } catch {
      return undefined
    }
  }
  return tensorsHash(outputs) === outputHash.toLowerCase() ? outputs : undefined
}

/**
 * Pure: the first receipt `attestation` set whose execution tag is wrong for the outputs the node
 * holds (docs/protocol.md, "Execution tags"), with those outputs — what `refuteAttestation` needs —,
 * or undefined when every tag it can check is right. `outputsAt(i)` gives leaf i's committed
 * outputs, undefined where the node has none (decoys: attesting one is slashed by its proof instead).
 */
export function wrongTag(
  batchId: number,
  count: number,
  attestation: RecordedAttestation,
  outputsAt: (index: number) => Int16Array[] | undefined,
): { index: number; outputs: Int16Array[] } | undefined {
  let rank = 0
  for (let index = 0; index < count; index++) {
    if ((((attestation.bitmap[index >> 8] ?? 0n) >> BigInt(index & 255)) & 1n) === 0n) continue
    const at = rank++ * TAG_BYTES
    if (size(attestation.tags) < at + TAG_BYTES) return undefined
    const tag = slice(attestation.tags, at, at + TAG_BYTES)
    const outputs = outputsAt(index)
    if (outputs === undefined) continue
    if (tag.toLowerCase() !== executionTag(executionSecret(outputs), attestation.verifier, batchId, index)) return { index, outputs }
  }
  return undefined
}
