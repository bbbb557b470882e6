import { BaseError } from '@verity/runtime/core'
import type { Address, Hex } from 'viem'
import type * as z from 'zod'
import { describeValue } from './describeValue.js'
import type { InferenceRequest, Receipt } from './eip712.js'
import { describeIssue, WireReceiptSchema, WireRequestSchema } from './wireSchema.js'

/** A protocol message that does not have the expected form; says which field and what it found. */
export class WireFormatError extends BaseError {
  override name = 'WireFormatError'
  constructor(shortMessage: string) {
    super('INVALID_MESSAGE', shortMessage)
  }
}

/**
 * `value` checked against `schema`, or a `WireFormatError` naming the first bad field, what it must
 * be and (boundedly) what was found. Any shape is safe: zod stops at the first level that does not
 * match, so deep nesting or huge arrays in a field cost one check.
 */
export function parseWire<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  throw new WireFormatError(describeIssue(result.error, value, where, (v) => describeValue(v)).message)
}

export function requestFromWire(v: unknown, where = 'request'): InferenceRequest {
  const r = parseWire(WireRequestSchema, v, where)
  return {
    modelId: r.modelId.toLowerCase() as Hex,
    inputHash: r.inputHash.toLowerCase() as Hex,
    node: r.node as Address,
    mode: r.mode,
    maxFee: BigInt(r.maxFee),
    nonce: BigInt(r.nonce),
    deadline: BigInt(r.deadline),
    channelTotal: BigInt(r.channelTotal),
  }
}

export function receiptFromWire(v: unknown, where = 'receipt'): Receipt {
  const r = parseWire(WireReceiptSchema, v, where)
  return {
    requestHash: r.requestHash.toLowerCase() as Hex,
    modelId: r.modelId.toLowerCase() as Hex,
    inputHash: r.inputHash.toLowerCase() as Hex,
    outputHash: r.outputHash.toLowerCase() as Hex,
    node: r.node as Address,
    client: r.client as Address,
    fee: BigInt(r.fee),
    issuedAt: BigInt(r.issuedAt),
    mode: r.mode,
  }
}
