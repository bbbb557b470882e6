import { receiptFromWire } from '@verity/contracts'
import type { Hex } from 'viem'
import type { VerityClient } from './createVerityClient.js'
import { SdkError } from './errors.js'
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
 * Re-executes an inference locally from public data — the receipt and input from the node (the
 * input checked against the receipt's inputHash), the model from its registered artifact URI
 * (checked against its id) — and compares the output hash with the receipt's.
 */
export async function audit(client: VerityClient, parameters: AuditParameters): Promise<AuditReturnType> {
  const base = parameters.node.replace(/\/$/, '')
  const stored = await fetch(`${base}/v1/inferences/${parameters.inferenceId}`)
  if (!stored.ok) throw new SdkError('INFERENCE_NOT_FOUND', `${base} has no inference ${parameters.inferenceId} (${stored.status})`)
  const receipt = receiptFromWire(((await stored.json()) as { receipt: unknown }).receipt)
  const data = await fetch(`${base}/v1/data/${receipt.inputHash}`)
  if (!data.ok) throw new SdkError('DATA_UNAVAILABLE', `${base} does not serve input ${receipt.inputHash} (${data.status})`)
  const model = await client.model(receipt.modelId)
  const result = reexecute(model, receipt, ((await data.json()) as { inputs: unknown }).inputs)
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
