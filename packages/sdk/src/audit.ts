import { TxSender } from '@verity/chain'
import { settlementAbi } from '@verity/contracts'
import { DataResponse, executionSecret, executionTag, fetchValid, tagOf } from '@verity/protocol'
import { tensorBytes } from '@verity/runtime/core'
import { type Address, type Hex, parseEventLogs, toHex } from 'viem'
import { batchEvents } from './batchEvents.js'
import type { VerityClient } from './createVerityClient.js'
import { SdkError } from './errors.js'
import { getInference } from './getInference.js'
import { reexecute } from './reexecute.js'

export type AuditParameters = { inferenceId: Hex; node: string }

/** One verifier's attestation of the audited receipt, and whether its execution tag is right. */
export type AuditedAttestation = {
  verifier: Address
  /** Whether it shares the batch's pool (false: it was assigned nothing and attested unpaid). */
  paid: boolean
  /** Its tag for this receipt equals the tag of the outputs recomputed here: it had the outputs. */
  tagRight: boolean
}

export type AuditReturnType = {
  inferenceId: Hex
  match: boolean
  claimedOutputHash: Hex
  recomputedOutputHash: Hex
  modelId: Hex
  inputHash: Hex
  ms: number
  /**
   * The attestations of this receipt, each tag checked against the recomputed outputs (only when they
   * match the receipt: a tag is defined by the committed outputs). A wrong tag is a verifier that
   * attested without executing: `refuteAttestation` shows it on-chain.
   */
  attestations: AuditedAttestation[]
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
    attestations: result.match ? await auditTags(client, parameters, result.outputs) : [],
  }
}

/** The committed receipt's attestations (read from the chain), each tag checked against `outputs`. */
async function auditTags(client: VerityClient, parameters: AuditParameters, outputs: Int16Array[]): Promise<AuditedAttestation[]> {
  const state = await getInference(client, parameters)
  if (state.batch === null) return []
  const { batchId, index } = state.batch
  const secret = executionSecret(outputs)
  const { attested } = await batchEvents(client.chain, client.book, BigInt(batchId))
  return attested.flatMap((e) => {
    const tag = tagOf(e.args.bitmap, e.args.tags, index)
    if (tag === undefined) return []
    const right = executionTag(secret, e.args.verifier, batchId, index)
    return [{ verifier: e.args.verifier, paid: e.args.paid, tagRight: tag.toLowerCase() === right }]
  })
}

export type RefuteAttestationParameters = AuditParameters & { verifier: Address }

/**
 * A client's (or anyone's) refutation of a verifier that attested a receipt without executing it
 * (docs/protocol.md, "Execution tags"): re-executes the receipt from public data, finds the
 * verifier's attestation of it and sends `Settlement.refuteAttestation` with the outputs. The verifier
 * is slashed; the caller earns the bounty. Throws `SdkError` `TAG_RIGHT` when the verifier's tag is
 * right (the chain would refuse), `NOT_ATTESTED` when it did not attest the receipt.
 *
 * @example
 * const a = await audit(client, { inferenceId, node })
 * for (const x of a.attestations.filter((x) => !x.tagRight)) await refuteAttestation(client, { inferenceId, node, verifier: x.verifier })
 */
export async function refuteAttestation(client: VerityClient, parameters: RefuteAttestationParameters): Promise<{ slashed: bigint }> {
  const base = parameters.node.replace(/\/$/, '')
  const state = await getInference(client, { inferenceId: parameters.inferenceId, node: base })
  if (state.batch === null) throw new SdkError('NOT_ATTESTED', `inference ${parameters.inferenceId} is not committed yet`)
  const { batchId, index, proof } = state.batch
  const data = await fetchValid(`${base}/v1/data/${state.receipt.inputHash}`, DataResponse, {
    timeoutMs: 10_000,
    maxBytes: 16 * 1024 * 1024,
  })
  const result = reexecute(await client.model(state.receipt.modelId), state.receipt, data.inputs)
  if (!result.match) throw new SdkError('DATA_MISMATCH', `the receipt's output hash is not its input's: challenge it instead`)
  const { attested } = await batchEvents(client.chain, client.book, BigInt(batchId))
  const attestation = attested.find(
    (e) => e.args.verifier.toLowerCase() === parameters.verifier.toLowerCase() && tagOf(e.args.bitmap, e.args.tags, index) !== undefined,
  )
  if (!attestation) throw new SdkError('NOT_ATTESTED', `${parameters.verifier} did not attest receipt ${index} of batch ${batchId}`)
  const tag = tagOf(attestation.args.bitmap, attestation.args.tags, index)!
  if (tag.toLowerCase() === executionTag(executionSecret(result.outputs), parameters.verifier, batchId, index))
    throw new SdkError('TAG_RIGHT', `${parameters.verifier}'s tag for receipt ${index} of batch ${batchId} is right: it had the outputs`)
  const sender = new TxSender({ chain: client.chain, account: client.account })
  const sent = await sender.write({
    address: client.book.contracts.settlement,
    abi: settlementAbi,
    functionName: 'refuteAttestation',
    args: [
      BigInt(batchId),
      { verifier: attestation.args.verifier, bitmap: [...attestation.args.bitmap], tags: attestation.args.tags },
      state.receipt,
      index,
      proof,
      result.outputs.map((t) => toHex(tensorBytes(t))),
    ],
  })
  const [slash] = parseEventLogs({ abi: settlementAbi, eventName: 'AttesterSlashed', logs: sent.receipt.logs })
  return { slashed: slash?.args.slashed ?? 0n }
}
