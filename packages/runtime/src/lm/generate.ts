import type { Hex } from '../loadModel.js'
import { merkleRoot, sha256, tensorRoot, toHex } from '../merkle.js'
import { seededRandom } from '../seededRandom.js'
import { tensorBytes } from '../tensorBytes.js'
import type { Decoder } from './decoder.js'
import { createDecoder } from './decoder.js'
import type { LanguageModel } from './languageModel.js'
import { sampleToken } from './sampleToken.js'

export type GenerateOptions = {
  /** Prompt token ids (at least one, e.g. the BOS token). */
  prompt: readonly number[]
  maxTokens: number
  /** 0 or absent: greedy. */
  temperature?: number | undefined
  /** Seed of the draws when sampling (mulberry32, one 32-bit draw per token). */
  seed?: number | undefined
  /** Stop after emitting this token (e.g. EOS). */
  stopToken?: number | undefined
  /** Called with each step as it is produced. */
  onStep?: ((step: GenerationStep) => void) | undefined
  /** A decoder to use (default: a new incremental decoder). */
  decoder?: Decoder | undefined
}

/** One generated token: the position whose logits chose it, the token, and those logits' root. */
export type GenerationStep = { position: number; token: number; logitsRoot: Hex }

export type Generation = {
  tokens: number[]
  steps: GenerationStep[]
  /**
   * Root of the generation trace: a Merkle tree over the prompt leaf tensorRoot(prompt as int16)
   * and one leaf per step, sha256(u32be position ‖ u32be token ‖ tensorRoot(logits row)).
   */
  root: Hex
}

const u32 = (v: number) => {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, v)
  return b
}

/** The trace leaf of one generation step. */
export function stepLeaf(position: number, token: number, logitsRow: Int16Array): Uint8Array {
  return sha256(u32(position), u32(token), tensorRoot(tensorBytes(logitsRow)))
}

/**
 * Generates up to `maxTokens` tokens after the prompt, greedily or by seeded sampling, with
 * incremental decoding; stops early at `stopToken` or when the context is full.
 *
 * @example
 * const { tokens, root } = generate(lm, { prompt: [1], maxTokens: 100 })
 */
export function generate(lm: LanguageModel, options: GenerateOptions): Generation {
  const decoder = options.decoder ?? createDecoder(lm)
  const rand = seededRandom(options.seed ?? 0)
  const draw = () => Math.floor(rand() * 2 ** 32)
  const leaves = [tensorRoot(tensorBytes(Int16Array.from(options.prompt)))]
  const tokens: number[] = []
  const steps: GenerationStep[] = []
  let logits = decoder.append(options.prompt)
  for (let i = 0; i < options.maxTokens; i++) {
    const row = logits.subarray(logits.length - lm.vocab)
    const token = sampleToken(row, { temperature: options.temperature, scale: lm.logitScale, draw })
    const position = decoder.position - 1
    const leaf = stepLeaf(position, token, row)
    leaves.push(leaf)
    const step = { position, token, logitsRoot: toHex(tensorRoot(tensorBytes(row))) }
    steps.push(step)
    tokens.push(token)
    options.onStep?.(step)
    if (token === options.stopToken || decoder.position >= lm.context || i === options.maxTokens - 1) break
    logits = decoder.append([token])
  }
  return { tokens, steps, root: toHex(merkleRoot(leaves)) }
}
