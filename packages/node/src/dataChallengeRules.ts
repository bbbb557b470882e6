import { inputsToWire } from '@verity/contracts'
import type { LoadedModel } from '@verity/runtime'
import { type Hex, hexToBytes } from 'viem'

/**
 * Pure: seconds after a batch's commit at which a verifier stops retrying an input it cannot fetch
 * and challenges its data on-chain — halfway through the window (a node down for a moment is retried
 * first), and no later than leaves, after the node's latest possible answer (`dataResponseTime` on),
 * a tenth of the window (at least 1 s) to re-execute the published input and challenge the output.
 * `Settlement` refuses data and availability challenges after `window − dataResponseTime`
 * (`DataChallengeTooLate`), so a node's answer always lands inside the window; this time is earlier
 * still, to leave room for the re-execution.
 *
 * @example
 * dataChallengeDelay({ challengeWindow: 3600, dataResponseTime: 600 }) // 1800
 * dataChallengeDelay({ challengeWindow: 10, dataResponseTime: 5 }) // 4
 */
export function dataChallengeDelay(params: { challengeWindow: number; dataResponseTime: number }): number {
  const window = params.challengeWindow
  const reserve = Math.max(1, window / 10)
  return Math.max(0, Math.min(window / 2, window - params.dataResponseTime - reserve))
}

/** An int16 tensor from its canonical bytes (little-endian two's complement), as `publishData` takes them. */
export function int16FromHex(h: Hex): Int16Array {
  const bytes = hexToBytes(h)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return Int16Array.from({ length: bytes.length >> 1 }, (_, i) => view.getInt16(i * 2, true))
}

/** The wire form of input tensors a node published on-chain (canonical int16 bytes in the model's input order). */
export function publishedInputsToWire(model: LoadedModel, inputs: readonly Hex[]): unknown {
  const count = model.model.inputs.length
  if (inputs.length !== count) throw new Error(`published data has ${inputs.length} inputs, the model takes ${count}`)
  return inputsToWire(model, inputs.map(int16FromHex))
}
