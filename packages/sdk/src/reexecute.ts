import { identifyModel } from '@verity/contracts/browser'
import { inputsFromWire, type Receipt } from '@verity/protocol'
import { type LoadedModel, loadModel, runQuantized, tensorsHash } from '@verity/runtime/core'
import type { Hex } from 'viem'
import { ModelUnavailableError, SdkError } from './errors.js'

/**
 * The model an artifact holds, once the artifact names `modelId` (a model id is the hash of the
 * roots derived from the artifact: docs/protocol.md).
 */
export function modelFromArtifact(modelId: Hex, bytes: Uint8Array, source = 'the artifact'): LoadedModel {
  let model: LoadedModel
  try {
    model = loadModel(bytes)
  } catch (cause) {
    throw new ModelUnavailableError(modelId, `${source} is not a valid artifact: ${(cause as Error).message}`)
  }
  const found = identifyModel(model).modelId
  if (found !== modelId.toLowerCase()) throw new ModelUnavailableError(modelId, `${source} served the artifact of model ${found}`)
  return model
}

export type ReexecuteReturnType = {
  match: boolean
  recomputedOutputHash: Hex
  /** The outputs computed (what a verifier's execution tags are made from). */
  outputs: Int16Array[]
  ms: number
}

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
  const outputs = runQuantized(model, inputs).outputs
  const recomputed = tensorsHash(outputs) as Hex
  return { match: recomputed === receipt.outputHash, recomputedOutputHash: recomputed, outputs, ms: performance.now() - started }
}
