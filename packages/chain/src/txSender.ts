import {
  type Abi,
  type Account,
  type Address,
  BaseError,
  type ContractFunctionArgs,
  type ContractFunctionName,
  ContractFunctionRevertedError,
  decodeErrorResult,
  encodeFunctionData,
  type Hash,
  keccak256,
  TransactionNotFoundError,
  type TransactionReceipt,
} from 'viem'
import { type Chain, toAccount } from './chain.js'
import { verityErrorsAbi } from './contracts.js'
import { ContractRevertError, TransactionFailedError, TransactionSendError } from './errors.js'

export type TxSenderParameters = {
  chain: Chain
  account: Account | `0x${string}`
  /** Attempts per transaction on transport or nonce errors (default 5). */
  attempts?: number
  /** First retry delay in ms, doubled on each retry (default 200). */
  retryDelayMs?: number
  /** Blocks on top of the inclusion block to wait for (default 0). */
  confirmations?: number
  /** Called on each retried failure (logging). */
  onRetry?: (error: unknown, attempt: number) => void
}

export type WriteParameters<abi extends Abi, functionName extends ContractFunctionName<abi, 'nonpayable' | 'payable'>> = {
  address: Address
  abi: abi
  functionName: functionName
  args: ContractFunctionArgs<abi, 'nonpayable' | 'payable', functionName>
  value?: bigint
  gas?: bigint
}

export type WriteResult = { hash: Hash; receipt: TransactionReceipt; gasUsed: bigint }

/**
 * Sends contract transactions from one account: simulates first (a revert surfaces as a typed
 * `ContractRevertError` with the decoded custom error, and nothing is sent), assigns nonces
 * locally so concurrent writes do not collide, signs locally, resends the same signed transaction
 * on transport failures and resynchronizes the nonce when the chain reports it stale.
 *
 * @example
 * const sender = new TxSender({ chain, account: privateKey })
 * await sender.write({ address: settlement, abi: settlementAbi, functionName: 'deposit', args: [10n ** 18n] })
 */
export class TxSender {
  readonly account: Account
  readonly address: Address
  private readonly chain: Chain
  private readonly attempts: number
  private readonly retryDelayMs: number
  private readonly confirmations: number
  private readonly onRetry: ((error: unknown, attempt: number) => void) | undefined
  private nextNonce: number | undefined
  private queue: Promise<unknown> = Promise.resolve()

  constructor(parameters: TxSenderParameters) {
    this.chain = parameters.chain
    this.account = toAccount(parameters.account)
    this.address = this.account.address
    this.attempts = parameters.attempts ?? 5
    this.retryDelayMs = parameters.retryDelayMs ?? 200
    this.confirmations = parameters.confirmations ?? 0
    this.onRetry = parameters.onRetry
  }

  async write<const abi extends Abi, functionName extends ContractFunctionName<abi, 'nonpayable' | 'payable'>>(
    parameters: WriteParameters<abi, functionName>,
  ): Promise<WriteResult> {
    const functionName = String(parameters.functionName)
    const data = encodeFunctionData({ abi: parameters.abi, functionName: parameters.functionName, args: parameters.args } as never)
    const gas = parameters.gas ?? (await this.retrying(functionName, () => this.estimate(parameters, data)))
    const hash = await this.sendSerialized(functionName, { to: parameters.address, data, gas, value: parameters.value ?? 0n })
    const receipt = await this.retrying(functionName, () =>
      this.chain.publicClient.waitForTransactionReceipt({ hash, confirmations: this.confirmations + 1, timeout: 120_000 }),
    )
    if (receipt.status !== 'success') throw new TransactionFailedError(hash, functionName)
    return { hash, receipt, gasUsed: receipt.gasUsed }
  }

  /** Sends `value` wei of the native coin to `to` (an account, no call), in this sender's nonce order. */
  async sendValue(to: Address, value: bigint): Promise<WriteResult> {
    const hash = await this.sendSerialized('transfer', { to, data: '0x', gas: 21_000n, value })
    const receipt = await this.retrying('transfer', () =>
      this.chain.publicClient.waitForTransactionReceipt({ hash, confirmations: this.confirmations + 1, timeout: 120_000 }),
    )
    if (receipt.status !== 'success') throw new TransactionFailedError(hash, 'transfer')
    return { hash, receipt, gasUsed: receipt.gasUsed }
  }

  /** Simulation and gas estimate in one: a revert is decoded and thrown, never retried. */
  private async estimate(parameters: WriteParameters<Abi, string>, data: `0x${string}`): Promise<bigint> {
    try {
      // Against the pending block: the state and timestamp the transaction will actually meet.
      await this.chain.publicClient.simulateContract({
        blockTag: 'pending',
        account: this.account,
        address: parameters.address,
        abi: parameters.abi,
        functionName: parameters.functionName,
        args: parameters.args as readonly unknown[],
        ...(parameters.value ? { value: parameters.value } : {}),
      } as never)
      const estimate = await this.chain.publicClient.estimateGas({
        blockTag: 'pending',
        account: this.account,
        to: parameters.address,
        data,
        ...(parameters.value ? { value: parameters.value } : {}),
      })
      return (estimate * 12n) / 10n + 10_000n
    } catch (error) {
      throw asRevert(String(parameters.functionName), error) ?? error
    }
  }

  /** Nonce assignment, signing and submission happen one transaction at a time per account. */
  private sendSerialized(functionName: string, tx: { to: Address; data: `0x${string}`; gas: bigint; value: bigint }): Promise<Hash> {
    const run = this.queue.then(() => this.send(functionName, tx))
    this.queue = run.catch(() => {})
    return run
  }

  private async send(functionName: string, tx: { to: Address; data: `0x${string}`; gas: bigint; value: bigint }): Promise<Hash> {
    const client = this.chain.walletClient(this.account)
    let signed: { serialized: `0x${string}`; hash: Hash; nonce: number } | undefined
    let lastError: unknown
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      try {
        // An earlier attempt may have reached the chain although its answer was lost.
        if (signed && (await this.isKnown(signed.hash))) return this.sent(signed)
        if (!signed) {
          const nonce =
            this.nextNonce ?? (await this.chain.publicClient.getTransactionCount({ address: this.address, blockTag: 'pending' }))
          const fees = await this.chain.publicClient.estimateFeesPerGas()
          const serialized = await client.signTransaction({
            account: this.account,
            chain: this.chain.viemChain,
            to: tx.to,
            data: tx.data,
            gas: tx.gas,
            value: tx.value,
            nonce,
            maxFeePerGas: fees.maxFeePerGas,
            maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
          })
          signed = { serialized, hash: keccak256(serialized), nonce }
        }
        try {
          await this.chain.publicClient.sendRawTransaction({ serializedTransaction: signed.serialized })
        } catch (error) {
          if (!/already known|already imported|known transaction/i.test(messageOf(error))) throw error
        }
        return this.sent(signed)
      } catch (error) {
        lastError = error
        if (signed && /nonce too (low|high)|invalid nonce|replacement transaction underpriced/i.test(messageOf(error))) {
          if (await this.isKnown(signed.hash).catch(() => false)) return this.sent(signed)
          // The nonce was taken by another transaction of this account: sign again with a fresh one.
          signed = undefined
          this.nextNonce = undefined
        }
        if (attempt < this.attempts) {
          this.onRetry?.(error, attempt)
          await sleep(this.retryDelayMs * 2 ** (attempt - 1))
        }
      }
    }
    this.nextNonce = undefined
    throw new TransactionSendError(functionName, this.attempts, lastError)
  }

  private sent(signed: { hash: Hash; nonce: number }): Hash {
    this.nextNonce = signed.nonce + 1
    return signed.hash
  }

  private async isKnown(hash: Hash): Promise<boolean> {
    try {
      await this.chain.publicClient.getTransaction({ hash })
      return true
    } catch (error) {
      if (error instanceof TransactionNotFoundError) return false
      throw error
    }
  }

  private async retrying<T>(functionName: string, action: () => Promise<T>): Promise<T> {
    let lastError: unknown
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      try {
        return await action()
      } catch (error) {
        if (error instanceof ContractRevertError) throw error
        lastError = error
        if (attempt < this.attempts) {
          this.onRetry?.(error, attempt)
          await sleep(this.retryDelayMs * 2 ** (attempt - 1))
        }
      }
    }
    throw new TransactionSendError(functionName, this.attempts, lastError)
  }
}

/** The decoded custom error of a reverted call, or undefined when `error` is not a revert. */
export function asRevert(functionName: string, error: unknown): ContractRevertError | undefined {
  if (!(error instanceof BaseError)) return undefined
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError)
  if (!(reverted instanceof ContractFunctionRevertedError)) return undefined
  if (reverted.data) return new ContractRevertError(functionName, reverted.data.errorName, reverted.data.args ?? [], error)
  // A revert bubbled up from another contract (the token, the registry): decode against all of ours.
  if (reverted.raw) {
    try {
      const decoded = decodeErrorResult({ abi: verityErrorsAbi, data: reverted.raw })
      return new ContractRevertError(functionName, decoded.errorName, decoded.args ?? [], error)
    } catch {}
  }
  return new ContractRevertError(functionName, reverted.reason ?? 'unknown error', [], error)
}

function messageOf(error: unknown): string {
  if (error instanceof BaseError) return `${error.shortMessage} ${error.details ?? ''} ${error.message}`
  return error instanceof Error ? error.message : String(error)
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
