import { BaseError } from '@verity/runtime'
import { ApiError } from './apiError.js'

/** An error as it crosses from a worker thread to the event loop: its message and, when typed, its code, HTTP status and details. */
export type ThreadError = { message: string; code?: string; status?: number; details?: Record<string, unknown> }

/** `error` in a form `postMessage` carries (a typed error keeps its code, status and details). */
export function toThreadError(error: unknown): ThreadError {
  if (error instanceof ApiError) return { message: error.shortMessage, code: error.code, status: error.status, details: error.details }
  if (error instanceof BaseError) return { message: error.shortMessage, code: error.code, details: error.details }
  return { message: error instanceof Error ? error.message : String(error) }
}

/**
 * The error again on this side: an `ApiError` with its status, a typed error with its code (so a
 * node answers it with the same status and body as had it been thrown here), or `untyped(message)`.
 */
export function fromThreadError(error: ThreadError, untyped: (message: string) => Error = (m) => new Error(m)): Error {
  if (error.status !== undefined && error.code !== undefined) return new ApiError(error.status, error.code, error.message, error.details)
  if (error.code !== undefined) return new BaseError(error.code, error.message, { details: error.details })
  return untyped(error.message)
}
