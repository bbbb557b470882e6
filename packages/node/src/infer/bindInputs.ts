import type { InferenceRequest } from '@verity/protocol/core'
import { tensorsHash } from '@verity/runtime'
import type { Hex } from 'viem'
import { badRequest } from '../apiError.js'

/**
 * Binds decoded inputs to the request: their hash, which must be the signed `inputHash` (400
 * INPUT_HASH_MISMATCH otherwise).
 *
 * @example
 * const inputHash = bindInputs({ request, inputs: inputsFromWire(model, wire) })
 */
export function bindInputs(p: { request: InferenceRequest; inputs: readonly Int16Array[] }): Hex {
  const inputHash = tensorsHash(p.inputs)
  if (inputHash !== p.request.inputHash)
    throw badRequest('INPUT_HASH_MISMATCH', `the inputs hash to ${inputHash}, the signed request says ${p.request.inputHash}`)
  return inputHash
}
