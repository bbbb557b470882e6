import { type InferenceRequest, inputsFromWire } from '@verity/protocol/core'
import { type LoadedModel, tensorsHash } from '@verity/runtime'
import type { Hex } from 'viem'
import { badRequest } from '../apiError.js'

/**
 * The inputs as sent, decoded for the model (the runtime's typed INPUT_* errors otherwise) and
 * bound to the request: their hash must be the signed `inputHash`.
 *
 * @example
 * const { inputs, inputHash } = bindInputs({ request, inputs: wire, model })
 */
export function bindInputs(p: { request: InferenceRequest; inputs: unknown; model: LoadedModel }): {
  inputs: Int16Array[]
  inputHash: Hex
} {
  const inputs = inputsFromWire(p.model, p.inputs)
  const inputHash = tensorsHash(inputs)
  if (inputHash !== p.request.inputHash)
    throw badRequest('INPUT_HASH_MISMATCH', `the inputs hash to ${inputHash}, the signed request says ${p.request.inputHash}`)
  return { inputs, inputHash }
}
