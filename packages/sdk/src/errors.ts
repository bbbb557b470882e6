import { BaseError } from '@verity/runtime/core'

/** Base of the SDK's errors (a Verity `BaseError`: stable `code`, `shortMessage`, `details`). */
export class SdkError extends BaseError {
  override name = 'SdkError'
}

/** Every node failed to answer (down, unreachable, 5xx); `details.attempts` lists why. */
export class NoNodeAvailableError extends SdkError {
  override name = 'NoNodeAvailableError'
  constructor(attempts: { node: string; error: string }[]) {
    super('NO_NODE_AVAILABLE', `no inference node answered (${attempts.length} tried)`, { details: { attempts } })
  }
}

/** A node refused the request with a typed error (bad input, escrow, replay…): `nodeCode` is its code. */
export class InferenceRejectedError extends SdkError {
  override name = 'InferenceRejectedError'
  readonly status: number
  readonly nodeCode: string
  constructor(node: string, status: number, error: { code: string; message: string; details?: unknown }) {
    super('INFERENCE_REJECTED', `${node} refused the request: ${error.code}: ${error.message}`, {
      details: { node, status, nodeError: error },
    })
    this.status = status
    this.nodeCode = error.code
  }
}

/** An answer whose receipt does not check out (signature, fields, output hash). */
export class InvalidReceiptError extends SdkError {
  override name = 'InvalidReceiptError'
  constructor(problem: string, details: Record<string, unknown> = {}) {
    super('RECEIPT_INVALID', problem, { details })
  }
}

export class TrustTimeoutError extends SdkError {
  override name = 'TrustTimeoutError'
  constructor(inferenceId: string, target: string, found: string, timeoutMs: number) {
    super('TRUST_TIMEOUT', `inference ${inferenceId} did not reach ${target} within ${timeoutMs} ms (it is ${found})`, {
      details: { inferenceId, target, found, timeoutMs },
    })
  }
}

export class ModelUnavailableError extends SdkError {
  override name = 'ModelUnavailableError'
  constructor(modelId: string, problem: string) {
    super('MODEL_UNAVAILABLE', `model ${modelId}: ${problem}`, { details: { modelId } })
  }
}
