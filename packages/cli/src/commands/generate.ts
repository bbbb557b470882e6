import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Generation, LanguageModel, Tokenizer } from '@verity/runtime'
import { charTokenizer, generate, importLanguageModel, languageModelFromArtifact, llama2cTokenizer } from '@verity/runtime'
import { readBytes, UsageError } from '../samples.js'

export type GenerateCommandOptions = {
  model: string
  prompt: string
  maxTokens: number
  temperature?: number | undefined
  seed?: number | undefined
  /** llama2.c tokenizer file (.bin); default: a tok*.bin beside the model. */
  tokenizer?: string | undefined
  /** Character vocabulary (token i = i-th character) instead of a tokenizer file. */
  vocab?: string | undefined
  /** Text file to calibrate an ONNX model on (default: the prompt). */
  calibrate?: string | undefined
  /** Context length of the integer graph for an ONNX model (default: prompt + max tokens). */
  context?: number | undefined
  /** Dense weight width for an ONNX model: 8 (default) or 16. */
  weightBits?: 8 | 16 | undefined
  json: boolean
}

function tokenizerFor(options: GenerateCommandOptions): Tokenizer {
  if (options.vocab !== undefined) return charTokenizer(options.vocab)
  let file = options.tokenizer
  if (!file) {
    const dir = dirname(options.model)
    const found = existsSync(dir) ? readdirSync(dir).find((f) => /^tok.*\.bin$/.test(f)) : undefined
    if (!found) throw new UsageError('No tokenizer: pass --tokenizer <tok.bin> or --vocab <characters>', { model: options.model })
    file = join(dir, found)
  }
  return llama2cTokenizer(readBytes(file, 'tokenizer'))
}

/**
 * `verity generate`: text generation in the exact integer runtime from an ONNX language model
 * (imported on the spot, calibrated on --calibrate text or the prompt) or a model artifact.
 * Prints the text, then the artifact hash and the root of the generation trace.
 */
export function generateCommand(options: GenerateCommandOptions): Generation {
  const tokenizer = tokenizerFor(options)
  const prompt = tokenizer.encode(options.prompt)
  if (prompt.length === 0) throw new UsageError('The prompt encodes to no tokens; give a non-empty --prompt', { prompt: options.prompt })
  const bytes = readBytes(options.model, 'model')
  let lm: LanguageModel
  if (options.model.endsWith('.onnx')) {
    const context = options.context ?? prompt.length + options.maxTokens
    const text = options.calibrate ? readFileSync(options.calibrate, 'utf8') : options.prompt
    const ids = tokenizer.encode(text)
    const calibration: number[][] = []
    for (let at = 0; at < ids.length && calibration.length < 8; at += context) calibration.push(ids.slice(at, at + context))
    lm = importLanguageModel(bytes, {
      context,
      calibration,
      fileName: options.model,
      ...(options.weightBits ? { weightBits: options.weightBits } : {}),
    }).lm
  } else {
    lm = languageModelFromArtifact(bytes)
  }
  const room = lm.context - prompt.length
  if (room < 1) throw new UsageError('The prompt fills the model context', { context: lm.context, prompt: prompt.length })
  const stream = !options.json
  if (stream) process.stdout.write(options.prompt)
  let previous = [...prompt]
  const result = generate(lm, {
    prompt,
    maxTokens: Math.min(options.maxTokens, room),
    temperature: options.temperature,
    seed: options.seed,
    stopToken: tokenizer.eos,
    onStep(step) {
      if (!stream) return
      // Print the text the new token adds (decoding the whole sequence keeps multi-byte characters whole).
      const before = tokenizer.decode(previous)
      previous = [...previous, step.token]
      const after = tokenizer.decode(previous)
      process.stdout.write(after.startsWith(before) ? after.slice(before.length) : '')
    },
  })
  // The artifact's content hash: a registry id also binds the graph root, which the one-step check
  // cannot derive yet for language-model ops (docs/semantics.md §9).
  const { artifactHash } = lm.model
  if (options.json) {
    console.log(
      JSON.stringify(
        {
          artifactHash,
          prompt,
          tokens: result.tokens,
          text: tokenizer.decode([...prompt, ...result.tokens]),
          root: result.root,
        },
        null,
        2,
      ),
    )
  } else {
    console.log(`\n\nartifact  ${artifactHash}`)
    console.log(
      `tokens    ${prompt.length} prompt + ${result.tokens.length} generated (${options.temperature ? `temperature ${options.temperature}, seed ${options.seed ?? 0}` : 'greedy'})`,
    )
    console.log(`root      ${result.root}`)
  }
  return result
}
