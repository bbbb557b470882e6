import type { Hex } from 'viem'
import type { NewInference } from '../src/receiptSink.js'

/** A 32-byte value numbered `n`, tagged by its first byte. */
export const h = (n: number, tag = 1) => `0x${tag.toString(16).padStart(2, '0')}${n.toString(16).padStart(62, '0')}` as Hex

/** A receipt's row for storage tests: `n` numbers it, `total` is its voucher's channel total, `fee` its fee. */
export function receiptRow(n: number, client: Hex, total: bigint, fee: bigint): NewInference {
  return {
    id: h(n, 1),
    requestHash: h(n, 2),
    client,
    nonce: String(n),
    modelId: h(0, 3),
    inputHash: h(n % 3, 4),
    outputHash: h(n, 5),
    fee: fee.toString(),
    mode: 0,
    issuedAt: 1_700_000_000,
    executedAtMs: 1_700_000_000_000 + n,
    receiptJson: '{}',
    signature: '0x',
    requestJson: '{}',
    clientSignature: '0x',
    outputsJson: '{}',
    computeMs: 0.1,
    channelTotal: total.toString(),
  }
}
