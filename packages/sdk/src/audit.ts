import { DataResponse, fetchValid } from '@verity/protocol'
import type { Hex } from 'viem'
import type { VerityClient } from './createVerityClient.js'
import { SdkError } from './errors.js'
import { getInference } from './getInference.js'
import { reexecute } from './reexecute.js'

export type AuditParameters = { inferenceId: Hex; node: string }
export type AuditReturnType = {
  inferenceId: Hex
  match: boolean
  claimedOutputHash: Hex
  recomputedOutputHash: Hex
  modelId: Hex
  inputHash: Hex
  ms: number
}

/**
 * Re-executes an inference locally from public data — the receipt from the node, checked as
 * `getInference` checks it (it hashes to the id asked for, is signed by its node, and is proven in
 * its committed root once committed), the input from the node (checked against the receipt's
 * inputHash), the model from its registered artifact URI (checked against its id) — and compares
 * the output hash with the receipt's.
 */
export async function audit(client: VerityClient, parameters: AuditParameters): Promise<AuditReturnType> {
  const base = parameters.node.replace(/\/$/, '')
  const { receipt } = await getInference(client, { inferenceId: parameters.inferenceId, node: base })
  const data = await fetchValid(`${base}/v1/data/${receipt.inputHash}`, DataResponse, {
    timeoutMs: 10_000,
    maxBytes: 16 * 1024 * 1024,
  }).catch((error: Error) => {
    throw new SdkError('DATA_UNAVAILABLE', `${base} does not serve input ${receipt.inputHash}: ${error.message}`)
  })
  const model = await client.model(receipt.modelId)
  const result = reexecute(model, receipt, data.inputs)
  return {
    inferenceId: parameters.inferenceId,
    match: result.match,
    claimedOutputHash: receipt.outputHash,
    recomputedOutputHash: result.recomputedOutputHash,
    modelId: receipt.modelId,
    inputHash: receipt.inputHash,
    ms: result.ms,
  }
}
