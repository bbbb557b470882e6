/** Details attached to an error: what was expected and what was found, as plain data. */
export type ErrorDetails = Readonly<Record<string, unknown>>

export type BaseErrorParameters = {
  details?: ErrorDetails | undefined
  cause?: unknown
}

/**
 * The base of every error Verity throws. `code` is stable and machine-readable; `shortMessage`
 * says what went wrong in one line; `details` carries what was expected and what was found.
 *
 * @example
 * try { run(model, input) } catch (e) { if (e instanceof BaseError) console.log(e.code) }
 */
export class BaseError extends Error {
  override name = 'VerityError'
  readonly code: string
  readonly shortMessage: string
  readonly details: ErrorDetails

  constructor(code: string, shortMessage: string, parameters: BaseErrorParameters = {}) {
    const details = parameters.details ?? {}
    const lines = Object.entries(details).map(([k, v]) => `  ${k}: ${formatDetail(v)}`)
    super(lines.length > 0 ? `${shortMessage}\n${lines.join('\n')}` : shortMessage, {
      cause: parameters.cause,
    })
    this.code = code
    this.shortMessage = shortMessage
    this.details = details
  }

  toJSON(): { code: string; message: string; details: ErrorDetails } {
    return { code: this.code, message: this.shortMessage, details: this.details }
  }
}

function formatDetail(value: unknown): string {
  if (typeof value === 'string') return value
  try {
    return JSON.stringify(value)
  } catch {
    return String(value)
  }
}

/** The file is not a decodable ONNX model (truncated, corrupt, or another format). */
export class OnnxDecodeError extends BaseError {
  override name = 'OnnxDecodeError'
  constructor(reason: string, parameters: BaseErrorParameters = {}) {
    super('ONNX_DECODE_FAILED', `Not a valid ONNX model: ${reason}`, parameters)
  }
}

/** The model uses an operator (or an operator variant) the runtime does not implement. */
export class UnsupportedOpError extends BaseError {
  override name = 'UnsupportedOpError'
  constructor(opType: string, nodeName: string, reason?: string) {
    super('UNSUPPORTED_OP', `Unsupported operator ${opType} at node "${nodeName}"${reason ? `: ${reason}` : ''}`, {
      details: { opType, node: nodeName, ...(reason ? { reason } : {}) },
    })
  }
}

/** The model is structurally invalid (missing tensor, bad attribute, inconsistent shapes). */
export class InvalidModelError extends BaseError {
  override name = 'InvalidModelError'
  constructor(shortMessage: string, details: ErrorDetails = {}) {
    super('INVALID_MODEL', shortMessage, { details })
  }
}

/** A model artifact could not be decoded (bad magic, truncated, wrong version, hash mismatch). */
export class ArtifactDecodeError extends BaseError {
  override name = 'ArtifactDecodeError'
  constructor(reason: string, details: ErrorDetails = {}) {
    super('ARTIFACT_INVALID', `Invalid model artifact: ${reason}`, { details })
  }
}

/** An input tensor has the wrong shape. */
export class InputShapeError extends BaseError {
  override name = 'InputShapeError'
  constructor(input: string, expected: readonly number[], found: readonly number[]) {
    super('INPUT_SHAPE_MISMATCH', `Input "${input}" has shape [${found.join(', ')}], expected [${expected.join(', ')}]`, {
      details: { input, expected, found },
    })
  }
}

/** An input tensor has the wrong element type (e.g. strings, or floats where integers are required). */
export class InputTypeError extends BaseError {
  override name = 'InputTypeError'
  constructor(input: string, expected: string, found: string) {
    super('INPUT_DTYPE_MISMATCH', `Input "${input}" has type ${found}, expected ${expected}`, {
      details: { input, expected, found },
    })
  }
}

/** An input tensor contains NaN or ±Infinity. */
export class InputNotFiniteError extends BaseError {
  override name = 'InputNotFiniteError'
  constructor(input: string, index: number, value: number) {
    super('INPUT_NOT_FINITE', `Input "${input}" has a non-finite value ${value} at flat index ${index}; expected finite numbers`, {
      details: { input, index, found: String(value) },
    })
  }
}

/** The set of inputs does not match the model's inputs (missing or unknown names). */
export class InputMissingError extends BaseError {
  override name = 'InputMissingError'
  constructor(expected: readonly string[], found: readonly string[]) {
    super('INPUT_MISSING', `Inputs [${found.join(', ')}] do not match the model's inputs [${expected.join(', ')}]`, {
      details: { expected, found },
    })
  }
}

/** A witness is incomplete or a Merkle proof in it does not verify. */
export class WitnessError extends BaseError {
  override name = 'WitnessError'
  constructor(shortMessage: string, details: ErrorDetails = {}) {
    super('WITNESS_INVALID', shortMessage, { details })
  }
}

/** Quantization cannot represent the model exactly within the semantics' bounds. */
export class QuantizationError extends BaseError {
  override name = 'QuantizationError'
  constructor(shortMessage: string, details: ErrorDetails = {}) {
    super('QUANTIZATION_FAILED', shortMessage, { details })
  }
}

/** Text that a tokenizer cannot encode (a character outside a character vocabulary). */
export class TokenizeError extends BaseError {
  override name = 'TokenizeError'
  constructor(shortMessage: string, details: ErrorDetails = {}) {
    super('TEXT_NOT_ENCODABLE', shortMessage, { details })
  }
}
