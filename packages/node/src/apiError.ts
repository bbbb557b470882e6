// Apart from errors.ts (which maps codes to HTTP and bounds error bodies) so that a thread that only
// stores receipts (writerWorker.ts) loads no more than the runtime's base error.
import { BaseError } from '@verity/runtime'

/** An error a client of a node's HTTP API can cause; `status` is its HTTP status. */
export class ApiError extends BaseError {
  override name = 'ApiError'
  readonly status: number
  constructor(status: number, code: string, shortMessage: string, details: Record<string, unknown> = {}) {
    super(code, shortMessage, { details })
    this.status = status
  }
}

export const badRequest = (code: string, message: string, details: Record<string, unknown> = {}) =>
  new ApiError(400, code, message, details)
