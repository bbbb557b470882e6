import { createHash } from 'node:crypto'
import type { Hex } from 'viem'

/** sha256 of bytes as 0x-hex: a model id is sha256 of its artifact. */
export function sha256Hex(bytes: Uint8Array): Hex {
  return `0x${createHash('sha256').update(bytes).digest('hex')}`
}
