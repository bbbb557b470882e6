// Loads a language model artifact and generates from it (re-running the padded context per token),
// printing the generation as JSON. Used by the language model tests from a child process and from a
// worker thread.
import { readFileSync } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'
import type { GenerateOptions, Generation } from '../src/index.js'
import { generate, languageModelFromArtifact } from '../src/index.js'

export function generateOnce(artifactPath: string, options: GenerateOptions): Generation & { artifactHash: string } {
  const lm = languageModelFromArtifact(readFileSync(artifactPath))
  return { ...generate(lm, options), artifactHash: lm.model.artifactHash }
}

if (parentPort && workerData) {
  parentPort.postMessage(generateOnce(workerData.artifact, workerData.options))
} else if (process.argv[2]) {
  console.log(JSON.stringify(generateOnce(process.argv[2], JSON.parse(process.argv[3] as string))))
}
