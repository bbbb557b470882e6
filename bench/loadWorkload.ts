/**
 * The model `bench/load.bench.ts` loads the node with (`--model`): mnist-8 (the default, in the repo) or
 * a language model from `../shared/models` — stories260K (Llama-2) or shakespeare-char (GPT-2) — whose
 * inference is one forward pass over a window of `--tokens` tokens (the logits of every position),
 * as `/v1/infer` answers it. Each role of the bench (node, references, load client) runs in its own
 * process and builds the same workload from the same flags.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { importLanguageModel, type LoadedModel, loadMnist, mnistImage, quantizeInputs } from '@verity/runtime'
import { demoData } from '../packages/cli/src/demoData.js'
import { importMnist } from '../packages/cli/src/devnet/startDevnet.js'
import {
  charPath,
  expected,
  shakespearePath,
  storiesPath,
  storiesTokenizer,
  storyPrompts,
} from '../packages/runtime/test/languageModelFixtures.js'

export const WORKLOADS = ['mnist-8', 'stories260K', 'shakespeare-char'] as const
export type WorkloadName = (typeof WORKLOADS)[number]

export type Workload = {
  name: WorkloadName
  /** The float model onnxruntime-node serves in the plain reference. */
  onnxPath: string
  /** Writes the Verity artifact to `path` (the node role publishes it) and returns its bytes. */
  writeArtifact(path: string): Uint8Array
  /** 100 requests' quantized inputs (each the model's inputs in order). */
  inputs(model: LoadedModel): Int16Array[][]
  /** The same 100 inputs as the plain onnxruntime server's bodies. */
  floatBodies(): string[]
  /** The onnxruntime feed for one body. */
  feed(ort: typeof import('onnxruntime-node'), inputName: string, body: string): Record<string, import('onnxruntime-node').Tensor>
  /** Values the first three of a request's inputs may take when the client makes each request's inputs its own. */
  variantRange: number
}

/** Token windows of Tiny Shakespeare's validation text (the last 10 %), `tokens` long, as the model's tokenizer reads them. */
function windows(encode: (text: string) => number[], tokens: number): number[][] {
  const text = readFileSync(shakespearePath, 'utf8')
  const ids = encode(text.slice(Math.floor(text.length * 0.9), Math.floor(text.length * 0.9) + 400 * tokens))
  return Array.from({ length: 100 }, (_, k) => ids.slice(k * 3, k * 3 + tokens))
}

function languageModel(name: 'stories260K' | 'shakespeare-char', tokens: number): Workload {
  const onnxPath = name === 'stories260K' ? storiesPath : charPath
  if (!existsSync(onnxPath) || !existsSync(shakespearePath))
    throw new Error(`--model ${name} needs ${onnxPath} and ${shakespearePath} (../shared): not found`)
  const encode =
    name === 'stories260K'
      ? (text: string) => storiesTokenizer().encode(text)
      : (text: string) => {
          const vocab = expected().shakespeare_char.vocab
          return [...text].map((ch) => vocab.indexOf(ch)).filter((id) => id >= 0)
        }
  const vocab = name === 'stories260K' ? 512 : expected().shakespeare_char.vocab.length
  const tokenWindows = () => windows(encode, tokens)
  return {
    name,
    onnxPath,
    writeArtifact(path) {
      const calibration =
        name === 'stories260K'
          ? storyPrompts.map((p) => encode(p).slice(0, tokens))
          : [encode(readFileSync(shakespearePath, 'utf8').slice(1000, 1000 + 4 * tokens)).slice(0, tokens)]
      const { artifact } = importLanguageModel(readFileSync(onnxPath), { context: tokens, calibration, fileName: `${name}.onnx` })
      writeFileSync(path, artifact)
      return artifact
    },
    inputs: () => tokenWindows().map((ids) => [Int16Array.from(ids)]),
    floatBodies: () => tokenWindows().map((ids) => JSON.stringify({ tokens: ids })),
    feed(ort, inputName, body) {
      const ids = (JSON.parse(body) as { tokens: number[] }).tokens
      return { [inputName]: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]) }
    },
    variantRange: Math.min(128, vocab),
  }
}

const mnist: Workload = {
  name: 'mnist-8',
  onnxPath: demoData.onnx,
  writeArtifact: (path) => importMnist(demoData.onnx, loadMnist(demoData.mnist), path),
  inputs(model) {
    const set = loadMnist(demoData.mnist)
    return Array.from({ length: 100 }, (_, i) => quantizeInputs(model, { Input3: mnistImage(set, i) }))
  },
  floatBodies() {
    const set = loadMnist(demoData.mnist)
    return Array.from({ length: 100 }, (_, i) => JSON.stringify({ Input3: Array.from(mnistImage(set, i).data) }))
  },
  feed: (ort, inputName, body) => ({
    [inputName]: new ort.Tensor('float32', Float32Array.from((JSON.parse(body) as { Input3: number[] }).Input3), [1, 1, 28, 28]),
  }),
  variantRange: 128,
}

/** The workload `--model` names (default mnist-8); `--tokens` is a language model's window (default 64). */
export function workloadFor(name: string | undefined, tokens: number): Workload {
  if (name === undefined || name === 'mnist-8') return mnist
  if (name === 'stories260K' || name === 'shakespeare-char') return languageModel(name, tokens)
  throw new Error(`--model: expected one of ${WORKLOADS.join(', ')}, found ${JSON.stringify(name)}`)
}

/** Where the node role writes the workload's artifact. */
export const artifactPathIn = (dir: string, workload: Workload) => join(dir, `${workload.name}.vrty`)
