import { BaseError } from '@verity/runtime/core'
import { describeValue } from './describeValue.js'

/**
 * Verification mode of a request, as the `mode` byte of the signed request and receipt
 * (docs/protocol.md): 0 = none, 1 = optimistic, 2 = zk, 0x80 | k = quorum:k (1 ≤ k ≤ 127).
 */
export type VerificationMode = 'none' | 'optimistic' | 'zk' | `quorum:${number}`

export class InvalidModeError extends BaseError {
  override name = 'InvalidModeError'
  constructor(found: unknown) {
    super('INVALID_MODE', `mode must be none, optimistic, zk or quorum:k with 1 ≤ k ≤ 127; found ${describeValue(found)}`, {
      details: { found: describeValue(found) },
    })
  }
}

export function encodeMode(mode: VerificationMode): number {
  if (mode === 'none') return 0
  if (mode === 'optimistic') return 1
  if (mode === 'zk') return 2
  const match = /^quorum:(\d+)$/.exec(mode)
  const k = match ? Number(match[1]) : Number.NaN
  if (!(k >= 1 && k <= 127)) throw new InvalidModeError(mode)
  return 0x80 | k
}

export function decodeMode(byte: number): VerificationMode {
  if (byte === 0) return 'none'
  if (byte === 1) return 'optimistic'
  if (byte === 2) return 'zk'
  if (byte > 0x80 && byte <= 0xff) return `quorum:${byte & 0x7f}`
  throw new InvalidModeError(byte)
}
