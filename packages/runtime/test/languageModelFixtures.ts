import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ImportLanguageModelResult, Tokenizer } from '../src/index.js'
import { charTokenizer, importLanguageModel, llama2cTokenizer } from '../src/index.js'
import { sharedDir } from './fixtures.js'

export const modelsDir = join(sharedDir, 'models')
export const storiesPath = join(modelsDir, 'stories260K', 'stories260K.onnx')
export const charPath = join(modelsDir, 'shakespeare-char', 'shakespeare-char.onnx')
export const shakespearePath = join(sharedDir, 'datasets', 'tinyshakespeare', 'input.txt')
/** Whether ../shared holds the language models and Tiny Shakespeare. */
export const languageModelsPresent = [storiesPath, charPath, shakespearePath].every((p) => existsSync(p))

export type Expected = {
  stories260K: { greedy_ids: number[]; greedy_text: string }
  shakespeare_char: { vocab: string; val_loss_fp32_all_windows: number; val_loss_fp32_first_8_windows: number }
}
export const expected = (): Expected => JSON.parse(readFileSync(join(modelsDir, 'language-models.json'), 'utf8'))

/**
 * Calibration prompts for stories260K, written for this purpose in the style of TinyStories (not
 * taken from the model's outputs), tokenized with tok512.bin, plus the float model's greedy
 * generation from BOS.
 */
export const storyPrompts = [
  'Once upon a time, there was a little boy named Tom. He liked to run in the garden with his dog.',
  'One day, Sue found a shiny box under her bed. She opened it and saw a small toy car inside. She was very happy.',
  'The cat was sad because it could not find its ball. Mom said, "Let us look together." They looked under the table and found it.',
  'Ben and Mia went to the park. They played on the swing and ate ice cream. The sun was warm and the sky was blue.',
]

export function storiesTokenizer(): Tokenizer {
  return llama2cTokenizer(readFileSync(join(modelsDir, 'stories260K', 'tok512.bin')))
}

const cache = new Map<string, ImportLanguageModelResult>()

/** stories260K imported at the given context (cached per test file). */
export function importStories(context = 128, weightBits: 8 | 16 = 16): ImportLanguageModelResult {
  const key = `stories:${context}:${weightBits}`
  const hit = cache.get(key)
  if (hit) return hit
  const tok = storiesTokenizer()
  const calibration = [...storyPrompts.map((p) => tok.encode(p)), expected().stories260K.greedy_ids].map((s) => s.slice(0, context))
  const result = importLanguageModel(readFileSync(storiesPath), { context, calibration, fileName: 'stories260K.onnx', weightBits })
  cache.set(key, result)
  return result
}

/** Tiny Shakespeare split as the JSON describes: first 90 % train, the rest validation, as token ids. */
export function shakespeareSplit(): { train: number[]; val: number[]; tokenizer: Tokenizer } {
  const text = readFileSync(shakespearePath, 'utf8')
  const tokenizer = charTokenizer(expected().shakespeare_char.vocab)
  const n = Math.floor(text.length * 0.9)
  return { train: tokenizer.encode(text.slice(0, n)), val: tokenizer.encode(text.slice(n)), tokenizer }
}

/** shakespeare-char at context 256, calibrated on `samples` train excerpts of `length` characters. */
export function importShakespeare(samples = 1, length = 64): ImportLanguageModelResult {
  const key = `char:${samples}:${length}`
  const hit = cache.get(key)
  if (hit) return hit
  const { train } = shakespeareSplit()
  const step = Math.floor(train.length / samples)
  const calibration = Array.from({ length: samples }, (_, k) => train.slice(k * step + 1000, k * step + 1000 + length))
  const result = importLanguageModel(readFileSync(charPath), { context: 256, calibration, fileName: 'shakespeare-char.onnx' })
  cache.set(key, result)
  return result
}

/** Mean cross-entropy (nats) of int16 logits rows [T × V] at `scale` against the targets. */
export function crossEntropy(logits: ArrayLike<number>, scale: number, vocab: number, targets: readonly number[]): number {
  let total = 0
  for (let p = 0; p < targets.length; p++) {
    let max = Number.NEGATIVE_INFINITY
    for (let v = 0; v < vocab; v++) max = Math.max(max, (logits[p * vocab + v] as number) * scale)
    let sum = 0
    for (let v = 0; v < vocab; v++) sum += Math.exp((logits[p * vocab + v] as number) * scale - max)
    total += Math.log(sum) + max - (logits[p * vocab + (targets[p] as number)] as number) * scale
  }
  return total / targets.length
}

/** Index of the largest value of row p (lowest index on ties). */
export function argmaxRow(logits: ArrayLike<number>, vocab: number, p: number): number {
  let best = 0
  for (let v = 1; v < vocab; v++) if ((logits[p * vocab + v] as number) > (logits[p * vocab + best] as number)) best = v
  return best
}
