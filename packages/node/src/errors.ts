import { boundedDetails } from '@verity/protocol'
import { BaseError } from '@verity/runtime'
import { ApiError } from './apiError.js'

export { ApiError, badRequest } from './apiError.js'

/** HTTP status of every error code a node returns: the one place codes map to statuses. */
export function httpStatusOf(error: unknown): number {
  if (error instanceof ApiError) return error.status
  if (error instanceof BaseError) {
    // Malformed messages, bad modes and bad inputs are the caller's: the protocol's typed errors.
    if (error.code.startsWith('INPUT_') || error.code === 'INVALID_MESSAGE' || error.code === 'INVALID_MODE') return 400
    if (error.code === 'ARTIFACT_INVALID') return 422
    // A model that cannot be loaded (createModelLoader in @verity/sdk): unknown, unreachable, or refused.
    if (error.code === 'MODEL_NOT_REGISTERED') return 404
    if (error.code === 'MODEL_ROOTS_MISMATCH') return 422
    if (error.code === 'MODEL_FETCH_FAILED' || error.code === 'MODEL_FETCH_TIMEOUT') return 503
    if (error.code === 'MODEL_HASH_MISMATCH' || error.code === 'MODEL_TOO_LARGE') return 502
    return 500
  }
  return 500
}

/** The JSON body of an error: `{ error: { code, message, details } }`. */
export function errorBody(error: unknown): { error: { code: string; message: string; details: Record<string, unknown> } } {
  if (error instanceof BaseError) {
    // Details and message may carry what the caller sent: bounded, whatever its size or depth.
    const message = error.shortMessage.length > 500 ? `${error.shortMessage.slice(0, 500)}…` : error.shortMessage
    return { error: { code: error.code, message, details: boundedDetails(error.details) } }
  }
  const message = error instanceof Error ? error.message : String(error)
  return { error: { code: 'INTERNAL', message: message.length > 500 ? `${message.slice(0, 500)}…` : message, details: {} } }
}

export function bigintReplacer(_: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value
}
