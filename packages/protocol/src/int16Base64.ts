import { BaseError } from '@verity/runtime/core'
import { describeValue } from './describeValue.js'

/** A string that is not the base64 of int16 values (docs/protocol.md, "HTTP API"); says what was found. */
export class InvalidBase64Error extends BaseError {
  override name = 'InvalidBase64Error'
  constructor(where: string, found: string, expected = 'the base64 of int16 values, little-endian (standard alphabet, padded)') {
    super('INVALID_BASE64', `${where}: expected ${expected}, found ${found}`)
  }
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const SEXTETS = new Int8Array(128).fill(-1)
for (let i = 0; i < 64; i++) SEXTETS[ALPHABET.charCodeAt(i)] = i
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
/** Node's Buffer where there is one (native, ~50× the loops below); the loops in browsers. */
const NodeBuffer = (globalThis as { Buffer?: typeof import('node:buffer').Buffer }).Buffer

/** The little-endian bytes of `t` (a view of its memory on little-endian machines, a copy elsewhere). */
function littleEndianBytes(t: Int16Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(t.buffer, t.byteOffset, t.byteLength)
  const bytes = new Uint8Array(t.byteLength)
  for (let i = 0; i < t.length; i++) {
    bytes[2 * i] = t[i]! & 0xff
    bytes[2 * i + 1] = (t[i]! >> 8) & 0xff
  }
  return bytes
}

/**
 * The int16 values of `t`, little-endian, in standard padded base64 (RFC 4648 §4): a third of the
 * characters of their decimal JSON for a language model's logits, and written and read natively.
 *
 * @example
 * int16ToBase64(new Int16Array([1, -2])) // 'AQD+/w=='
 */
export function int16ToBase64(t: Int16Array, { portable = false }: { portable?: boolean } = {}): string {
  const bytes = littleEndianBytes(t)
  if (NodeBuffer && !portable) return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
  let out = ''
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!
  }
  const rest = bytes.length - i
  if (rest === 1) {
    const n = bytes[i]! << 16
    out += `${ALPHABET[n >> 18]!}${ALPHABET[(n >> 12) & 63]!}==`
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8)
    out += `${ALPHABET[n >> 18]!}${ALPHABET[(n >> 12) & 63]!}${ALPHABET[(n >> 6) & 63]!}=`
  }
  return out
}

/**
 * The int16 values `int16ToBase64` wrote. Strict: only the standard alphabet, padded to a multiple of
 * 4 characters, an even number of bytes, and the unused bits of the last character zero — so each
 * tensor has one text (throws `InvalidBase64Error`, naming `where`, otherwise).
 *
 * @example
 * int16FromBase64('AQD+/w==') // Int16Array [1, -2]
 */
export function int16FromBase64(text: string, where = 'raw', { portable = false }: { portable?: boolean } = {}): Int16Array {
  const fail = (what: string): never => {
    // A character outside the alphabet is the reason whatever else is wrong: it is named first.
    const bad = typeof text === 'string' ? firstBadCharacter(text) : -1
    if (bad >= 0)
      what = `${describeValue(text.charAt(bad))} (U+${text.charCodeAt(bad).toString(16).toUpperCase().padStart(4, '0')}) at character ${bad}, outside the base64 alphabet`
    throw new InvalidBase64Error(where, what)
  }
  if (typeof text !== 'string') fail(describeValue(text))
  if (text.length % 4 !== 0) fail(`${text.length} characters (not a multiple of 4)`)
  const padding = paddingOf(text)
  const byteCount = (text.length / 4) * 3 - padding
  if (byteCount % 2 !== 0) fail(`${byteCount} bytes (an odd number)`)
  const end = text.length - padding
  // The last character before the padding may only carry bits of real bytes.
  if (padding > 0) {
    const last = SEXTETS[text.charCodeAt(end - 1)] ?? -1
    if (last >= 0 && (last & (padding === 2 ? 15 : 3)) !== 0) fail(`non-zero padding bits at character ${end - 1}`)
  }
  const out = new Int16Array(byteCount / 2)
  const bytes = new Uint8Array(out.buffer)
  if (NodeBuffer && !portable) {
    // Buffer decodes leniently (it skips characters outside the alphabet, ignores padding bits): the
    // text is canonical exactly when the bytes encode back to it. Otherwise the loops below say why.
    const decoded = NodeBuffer.from(text, 'base64')
    if (decoded.length === byteCount && decoded.toString('base64') === text) bytes.set(decoded)
    else {
      int16FromBase64(text, where, { portable: true })
      fail('a text that is not the canonical base64 of its bytes')
    }
  } else {
    let o = 0
    for (let i = 0; i < end; i += 4) {
      let n = 0
      const group = Math.min(4, end - i)
      for (let k = 0; k < 4; k++) {
        const c = k < group ? text.charCodeAt(i + k) : 65 // 'A' (zero) in place of padding
        const s = c < 128 ? SEXTETS[c]! : -1
        if (s < 0) fail(`a character outside the base64 alphabet at ${i + k}`) // named by `fail`
        n = (n << 6) | s
      }
      bytes[o++] = n >> 16
      if (o < byteCount) bytes[o++] = (n >> 8) & 0xff
      if (o < byteCount) bytes[o++] = n & 0xff
    }
  }
  if (!LITTLE_ENDIAN) for (let i = 0; i < out.length; i++) out[i] = ((bytes[2 * i]! | (bytes[2 * i + 1]! << 8)) << 16) >> 16
  return out
}

/** The index of the first character that is neither of the alphabet nor one of at most two final '=', or -1. */
function firstBadCharacter(text: string): number {
  const end = text.length - paddingOf(text)
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i)
    if (c >= 128 || SEXTETS[c]! < 0) return i
  }
  return -1
}

/** How many '=' end `text` (at most two count as padding). */
function paddingOf(text: string): number {
  return text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0
}
