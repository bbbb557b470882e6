import { inputsFromWire, type Receipt } from '@verity/contracts/browser'
import { type LoadedModel, loadModel, runQuantized, sha256, tensorsHash, toHex } from '@verity/runtime/core'
import type { Hex } from 'viem'
import { ModelUnavailableError, SdkError } from './errors.js'

/** The model an artifact holds, once its bytes hash to the model id (a model id is the sha256 of its artifact). */
export function modelFromArtifact(modelId: Hex, bytes: Uint8Array, source = 'the artifact'): LoadedModel {
  const found = toHex(sha256(bytes))
  if (found !== modelId.toLowerCase()) throw new ModelUnavailableError(modelId, `${source} served bytes hashing to ${found}`)
  return loadModel(bytes)
}

export type ReexecuteReturnType = { match: boolean; recomputedOutputHash: Hex; ms: number }

/**
 * Re-executes a receipt's inference: checks that the inputs hash to its `inputHash`, runs the model
 * and compares the output hash with its `outputHash`. Pure and platform-neutral: the SDK's `audit`
 * runs it in Node, the dashboard's page in the browser.
 */
export function reexecute(model: LoadedModel, receipt: Receipt, wireInputs: unknown): ReexecuteReturnType {
  const inputs = inputsFromWire(model, wireInputs)
  const inputHash = tensorsHash(inputs)
  if (inputHash !== receipt.inputHash)
    throw new SdkError('DATA_MISMATCH', `the input served for ${receipt.inputHash} hashes to ${inputHash}`)
  const started = performance.now()
  const recomputed = tensorsHash(runQuantized(model, inputs).outputs) as Hex
  return { match: recomputed === receipt.outputHash, recomputedOutputHash: recomputed, ms: performance.now() - started }
}
