import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { identifyModel } from '@verity/contracts'
import type { LoadedModel } from '@verity/runtime'
import { loadMnist, loadModel, mnistImage, run } from '@verity/runtime'
import { SingleBar } from 'cli-progress'
import { demoData } from '../demoData.js'
import { sig } from '../format.js'
import { readBytes, UsageError } from '../samples.js'

export type EvalOptions = { model: string; dataset: string; data: string; limit?: number; onnx?: string; json: boolean }

export type EvalResult = {
  modelId: string
  dataset: string
  images: number
  accuracy: number
  floatAccuracy: number
  agreement: number
  logitMae: number
  floatModel: string
}

/**
 * The float ONNX model the artifact was imported from: `--onnx`, or the recorded source file name
 * next to the artifact, in the working directory, or in the repository's data/models — always checked against
 * the SHA-256 recorded in the artifact.
 */
export function findFloatModel(model: LoadedModel, artifactPath: string, explicit?: string): string {
  const { file, sha256 } = model.model.source
  const candidates = explicit ? [explicit] : [join(dirname(artifactPath), file), file, join(dirname(demoData.onnx), file)]
  for (const c of candidates) {
    if (!existsSync(c)) continue
    const digest = createHash('sha256').update(readFileSync(c)).digest('hex')
    if (digest === sha256) return c
    if (explicit)
      throw new UsageError('The float model is not the one this artifact was imported from', { file: c, expected: sha256, found: digest })
  }
  throw new UsageError(`Cannot find the float model ${file}; pass --onnx <path>`, { searched: candidates, sha256 })
}

/** `verity eval`: top-1 accuracy of the integer model, agreement with the float model (onnxruntime-node), logit MAE. */
export async function evaluate(options: EvalOptions): Promise<EvalResult> {
  if (options.dataset !== 'mnist')
    throw new UsageError('Only the mnist dataset is supported', { expected: 'mnist', found: options.dataset })
  const model = loadModel(readBytes(options.model, 'model artifact'))
  const floatPath = findFloatModel(model, options.model, options.onnx)
  const ort = await import('onnxruntime-node')
  const session = await ort.InferenceSession.create(floatPath, { intraOpNumThreads: 1, interOpNumThreads: 1 })
  const set = loadMnist(options.data)
  const n = Math.min(options.limit ?? set.count, set.count)
  const input = model.model.tensors[model.model.inputs[0] as number]
  const inputName = input?.name as string
  const bar =
    process.stderr.isTTY && !options.json
      ? new SingleBar({ format: 'eval [{bar}] {value}/{total} images  acc {acc}%  eta {eta}s', clearOnComplete: true })
      : undefined
  bar?.start(n, 0, { acc: '—' })
  let correct = 0
  let floatCorrect = 0
  let agree = 0
  let mae = 0
  for (let i = 0; i < n; i++) {
    const img = mnistImage(set, i)
    const out = run(model, { [inputName]: img }).outputs[0]
    const feeds = { [session.inputNames[0] as string]: new ort.Tensor('float32', Float32Array.from(img.data), img.shape) }
    const ref = (await session.run(feeds))[session.outputNames[0] as string]?.data as Float32Array
    if (!out) break
    const a = argmax(out.values)
    const b = argmax(ref)
    const label = set.labels[i]
    if (a === label) correct++
    if (b === label) floatCorrect++
    if (a === b) agree++
    let e = 0
    for (let k = 0; k < ref.length; k++) e += Math.abs((out.values[k] as number) - (ref[k] as number))
    mae += e / ref.length
    if (bar && (i % 50 === 0 || i === n - 1)) bar.update(i + 1, { acc: ((100 * correct) / (i + 1)).toFixed(2) })
  }
  bar?.stop()
  await session.release()
  const result: EvalResult = {
    modelId: identifyModel(model).modelId,
    dataset: 'mnist',
    images: n,
    accuracy: correct / n,
    floatAccuracy: floatCorrect / n,
    agreement: agree / n,
    logitMae: mae / n,
    floatModel: floatPath,
  }
  if (options.json) console.log(JSON.stringify(result, null, 2))
  else {
    console.log(`model id         ${result.modelId}`)
    console.log(`images           ${n} (MNIST test set)`)
    console.log(`top-1 accuracy   ${(100 * result.accuracy).toFixed(2)} %   (float model: ${(100 * result.floatAccuracy).toFixed(2)} %)`)
    console.log(`agreement        ${(100 * result.agreement).toFixed(2)} % of top-1 predictions equal the float model's (onnxruntime-node)`)
    console.log(`logit MAE        ${sig(result.logitMae)}`)
  }
  return result
}

function argmax(v: ArrayLike<number>): number {
  let best = 0
  for (let i = 1; i < v.length; i++) if ((v[i] as number) > (v[best] as number)) best = i
  return best
}
