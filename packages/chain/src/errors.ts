import { BaseError } from '@verity/runtime'

/** Base of every error of @verity/chain (a Verity `BaseError`: stable `code`, `shortMessage`, `details`). */
export class ChainError extends BaseError {
  override name = 'ChainError'
}

/** The RPC endpoint could not be reached or answered with a transport-level failure. */
export class RpcUnavailableError extends ChainError {
  override name = 'RpcUnavailableError'
  constructor(url: string, cause: unknown) {
    super('RPC_UNAVAILABLE', `cannot reach the JSON-RPC endpoint ${url}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      details: { url },
      cause,
    })
  }
}

/** The node at the endpoint reports another chain than expected. */
export class ChainMismatchError extends ChainError {
  override name = 'ChainMismatchError'
  constructor(expected: number, found: number) {
    super('CHAIN_MISMATCH', `expected chain id ${expected}, the endpoint serves chain ${found}`, { details: { expected, found } })
  }
}

/** A contract call or transaction reverted; `errorName` and `args` are the decoded custom error. */
export class ContractRevertError extends ChainError {
  override name = 'ContractRevertError'
  readonly errorName: string
  readonly args: readonly unknown[]
  constructor(functionName: string, errorName: string, args: readonly unknown[], cause?: unknown) {
    const shown = args.map((a) => (typeof a === 'bigint' ? a.toString() : String(a))).join(', ')
    super('CONTRACT_REVERTED', `${functionName} reverted with ${errorName}(${shown})`, {
      details: { functionName, errorName, args },
      cause,
    })
    this.errorName = errorName
    this.args = args
  }
}

/** A transaction was mined but failed (status 0) although its simulation passed. */
export class TransactionFailedError extends ChainError {
  override name = 'TransactionFailedError'
  constructor(hash: string, functionName: string) {
    super('TRANSACTION_FAILED', `transaction ${hash} (${functionName}) was mined with status reverted`, { details: { hash, functionName } })
  }
}

/** A transaction could not be sent after every retry. */
export class TransactionSendError extends ChainError {
  override name = 'TransactionSendError'
  constructor(functionName: string, attempts: number, cause: unknown) {
    super(
      'TRANSACTION_NOT_SENT',
      `${functionName}: sending failed after ${attempts} attempt(s): ${cause instanceof Error ? cause.message.split('\n')[0] : String(cause)}`,
      { details: { functionName, attempts }, cause },
    )
  }
}

/** An address book file is missing, unreadable or does not describe a deployment. */
export class AddressBookError extends ChainError {
  override name = 'AddressBookError'
  constructor(path: string, problem: string) {
    super('ADDRESS_BOOK_INVALID', `address book ${path}: ${problem}`, { details: { path } })
  }
}

/** A private key file does not hold one 0x-prefixed 32-byte hex key. */
export class KeyFileError extends ChainError {
  override name = 'KeyFileError'
  constructor(path: string, problem: string) {
    super('KEY_FILE_INVALID', `key file ${path}: ${problem} (expected one line: 0x followed by 64 hex digits)`, { details: { path } })
  }
}

/** Deployment parameters the contracts would reject (checked before anything is sent). */
export class InvalidDeploymentParamsError extends ChainError {
  override name = 'InvalidDeploymentParamsError'
  constructor(shortMessage: string, details: Record<string, unknown>) {
    super('INVALID_DEPLOYMENT_PARAMS', shortMessage, { details })
  }
}
