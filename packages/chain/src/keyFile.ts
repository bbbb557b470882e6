import { readFileSync } from 'node:fs'
import type { Hex } from 'viem'
import { KeyFileError } from './errors.js'

/** Reads a private key file: one line, 0x + 64 hex digits. */
export function readKeyFile(path: string): Hex {
  let text: string
  try {
    text = readFileSync(path, 'utf8').trim()
  } catch (error) {
    throw new KeyFileError(path, `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`)
  }
  if (!/^0x[0-9a-fA-F]{64}$/.test(text)) throw new KeyFileError(path, `holds ${text.length} characters that are not a private key`)
  return text as Hex
}
