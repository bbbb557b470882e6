import { InvalidModelError, TokenizeError } from '../errors.js'

/** Text ↔ token ids. */
export type Tokenizer = {
  vocabSize: number
  /** The beginning-of-sequence token, when the vocabulary has one. */
  bos?: number
  eos?: number
  encode(text: string, options?: { bos?: boolean }): number[]
  decode(ids: readonly number[]): string
}

/**
 * A character vocabulary: token i is the i-th character (code point) of `vocab`.
 *
 * @example
 * const tok = charTokenizer('\n !$&…')
 */
export function charTokenizer(vocab: string): Tokenizer {
  const chars = Array.from(vocab)
  const index = new Map(chars.map((c, i) => [c, i]))
  return {
    vocabSize: chars.length,
    encode(text) {
      return Array.from(text, (c, i) => {
        const id = index.get(c)
        if (id === undefined)
          throw new TokenizeError(`Character ${JSON.stringify(c)} is not in the vocabulary`, { character: c, offset: i })
        return id
      })
    },
    decode(ids) {
      return ids
        .map((id) => {
          const c = chars[id]
          if (c === undefined) throw new TokenizeError('Token id is not in the vocabulary', { token: id, vocab: chars.length })
          return c
        })
        .join('')
    },
  }
}

/**
 * llama2.c's tokenizer file (tok512.bin and the like): int32 max token length, then per token a
 * float32 score, an int32 byte length and the bytes. Encoding is SentencePiece BPE as run.c does it:
 * a dummy-prefix space, one token per UTF-8 code point (or its bytes, as <0xXX> tokens 3 + byte),
 * then repeatedly the adjacent pair whose merge has the highest score. BOS = 1, EOS = 2; decoding
 * drops the space after BOS and turns <0xXX> pieces into raw bytes.
 */
export function llama2cTokenizer(file: Uint8Array, vocabSize?: number): Tokenizer {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength)
  const pieces: Uint8Array[] = []
  const scores: number[] = []
  let off = 4
  while (off < file.length && (vocabSize === undefined || pieces.length < vocabSize)) {
    if (off + 8 > file.length) throw new InvalidModelError('Tokenizer file is truncated', { offset: off })
    scores.push(view.getFloat32(off, true))
    const len = view.getInt32(off + 4, true)
    if (len < 0 || off + 8 + len > file.length) throw new InvalidModelError('Tokenizer file is truncated', { offset: off, length: len })
    pieces.push(file.subarray(off + 8, off + 8 + len))
    off += 8 + len
  }
  const latin = new TextDecoder('latin1')
  const keyOf = (b: Uint8Array) => latin.decode(b)
  const ids = new Map<string, number>()
  pieces.forEach((p, i) => {
    if (!ids.has(keyOf(p))) ids.set(keyOf(p), i)
  })
  const utf8 = new TextEncoder()
  return {
    vocabSize: pieces.length,
    bos: 1,
    eos: 2,
    encode(text, options = {}) {
      const out: number[] = options.bos === false ? [] : [1]
      if (text.length === 0) return out
      const tokens: number[] = []
      const space = ids.get(' ')
      if (space !== undefined) tokens.push(space)
      for (const cp of text) {
        const bytes = utf8.encode(cp)
        const id = ids.get(keyOf(bytes))
        if (id !== undefined) tokens.push(id)
        else for (const b of bytes) tokens.push(b + 3)
      }
      for (;;) {
        let best = -1
        let bestScore = Number.NEGATIVE_INFINITY
        let bestId = -1
        for (let i = 0; i + 1 < tokens.length; i++) {
          const a = pieces[tokens[i] as number] as Uint8Array
          const b = pieces[tokens[i + 1] as number] as Uint8Array
          const merged = new Uint8Array(a.length + b.length)
          merged.set(a)
          merged.set(b, a.length)
          const id = ids.get(keyOf(merged))
          if (id !== undefined && (scores[id] as number) > bestScore) {
            bestScore = scores[id] as number
            best = i
            bestId = id
          }
        }
        if (best < 0) break
        tokens.splice(best, 2, bestId)
      }
      return [...out, ...tokens]
    },
    decode(list) {
      const bytes: number[] = []
      let prev = -1
      for (const id of list) {
        const piece = pieces[id]
        if (!piece) throw new TokenizeError('Token id is not in the vocabulary', { token: id, vocab: pieces.length })
        if (id === 1 || id === 2) {
          prev = id
          continue
        }
        const s = keyOf(piece)
        const m = /^<0x([0-9A-F]{2})>$/.exec(s)
        if (m) bytes.push(Number.parseInt(m[1] as string, 16))
        else bytes.push(...(prev === 1 && piece[0] === 32 ? piece.subarray(1) : piece))
        prev = id
      }
      return new TextDecoder().decode(Uint8Array.from(bytes))
    },
  }
}
