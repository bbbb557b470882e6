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

/** The model id has no record in the ModelRegistry. */
export class ModelNotRegisteredError extends SdkError {
  override name = 'ModelNotRegisteredError'
  constructor(modelId: string) {
    super('MODEL_NOT_REGISTERED', `model ${modelId} is not registered on-chain`, { details: { modelId } })
  }
}

/** No source served the artifact: unreachable, an error status, or a scheme that cannot be fetched; `details.attempts` lists each. */
export class ModelFetchFailedError extends SdkError {
  override name = 'ModelFetchFailedError'
  constructor(
    modelId: string,
    url: string,
    problem: string,
    options: { status?: number; attempts?: { url: string; code: string; error: string }[] } = {},
  ) {
    super('MODEL_FETCH_FAILED', `model ${modelId}: ${url} ${problem}`, {
      details: { modelId, url, status: options.status ?? null, attempts: options.attempts ?? [] },
    })
  }
}

/** A source did not deliver the whole artifact within the time bound. */
export class ModelFetchTimeoutError extends SdkError {
  override name = 'ModelFetchTimeoutError'
  constructor(modelId: string, url: string, timeoutMs: number) {
    super('MODEL_FETCH_TIMEOUT', `model ${modelId}: ${url} did not deliver the artifact within ${timeoutMs} ms`, {
      details: { modelId, url, timeoutMs },
    })
  }
}

/** A source served more bytes than the loader accepts. */
export class ModelTooLargeError extends SdkError {
  override name = 'ModelTooLargeError'
  constructor(modelId: string, url: string, maxBytes: number, found: number) {
    super('MODEL_TOO_LARGE', `model ${modelId}: ${url} served over ${maxBytes} bytes (at least ${found})`, {
      details: { modelId, url, expected: maxBytes, found },
    })
  }
}

/** A source served bytes whose sha256 is not the registered artifact hash (or whose roots name another id). */
export class ModelHashMismatchError extends SdkError {
  override name = 'ModelHashMismatchError'
  constructor(modelId: string, url: string, expected: string, found: string) {
    super('MODEL_HASH_MISMATCH', `model ${modelId}: ${url} served bytes hashing to ${found}, expected ${expected}`, {
      details: { modelId, url, expected, found },
    })
  }
}

/**
 * The registry's roots for the model differ from the roots derived from its artifact: the record
 * could not back a dispute, so the model is refused.
 */
export class ModelRootsMismatchError extends SdkError {
  override name = 'ModelRootsMismatchError'
  constructor(modelId: string, expected: Record<string, string>, found: Record<string, string>) {
    const differ = Object.keys(expected).filter((k) => expected[k] !== found[k])
    super('MODEL_ROOTS_MISMATCH', `model ${modelId}: the registered ${differ.join(', ')} differ from the artifact's`, {
      details: { modelId, differ, expected, found },
    })
  }
}
