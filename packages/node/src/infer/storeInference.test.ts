import { inputsToWire } from '@verity/contracts'
import type { Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { clientAccount, freshStore, honestAnswer, mnist8, PRICE, refusal, type SignedInfer, signedInfer } from '../../test/inferFixture.js'
import type { ReceiptStore } from '../receiptStore.js'
import { storeInference } from './storeInference.js'

const client = clientAccount.address.toLowerCase() as Hex

/** Answers `signed` honestly and stores it with `escrow` as last read. */
async function store(receipts: ReceiptStore, signed: SignedInfer, escrow: bigint) {
  const nowMs = 1_800_000_000_500
  const answer = honestAnswer(signed, signed.request.maxFee, nowMs)
  const run = () =>
    storeInference({ store: receipts, request: signed.request, clientSignature: signed.signature, answer, escrow, executedAtMs: nowMs })
  return { answer, run }
}

describe('storeInference', () => {
  it('stores the receipt, request, inputs and outputs, and charges the channel', async () => {
    const { model } = mnist8()
    const receipts = freshStore()
    const signed = await signedInfer(7)
    const { answer, run } = await store(receipts, signed, 10n * PRICE)
    await run()
    expect(receipts.getInference(answer.id)).toMatchObject({
      client,
      nonce: signed.request.nonce.toString(),
      fee: PRICE.toString(),
      outputHash: answer.receipt.outputHash,
      receiptJson: answer.receiptJson,
      outputsJson: answer.outputsJson,
      signature: answer.signature,
      executedAtMs: 1_800_000_000_500,
      computeMs: answer.computeMs,
      clientSignature: signed.signature,
      batchLocal: null,
    })
    expect(JSON.parse(receipts.getInput(signed.request.inputHash)!)).toEqual(JSON.parse(JSON.stringify(inputsToWire(model, signed.inputs))))
    expect(receipts.channel(client)).toMatchObject({ authorized: PRICE, charged: PRICE })
    expect(receipts.outstandingFees(client)).toBe(PRICE)
  })

  it('stores nothing when, while it ran, the escrow or the vouchers were spent, or the request was answered', async () => {
    const receipts = freshStore()
    const first = await signedInfer(8)
    // Two requests priced against the same escrow of one fee: the second to be stored finds it spent.
    const a = await store(receipts, first, PRICE)
    const b = await store(receipts, await signedInfer(9, { channelTotal: 2n * PRICE }), PRICE)
    await a.run()
    // Vouchers: a request whose channel total the first already used up.
    const c = await store(receipts, await signedInfer(10, { channelTotal: PRICE }), 10n * PRICE)
    // In a store of its own: a request whose voucher covers two fees, answered twice.
    const other = freshStore()
    const twice = await signedInfer(11, { channelTotal: 2n * PRICE })
    await (await store(other, twice, 10n * PRICE)).run()
    const again = await store(other, twice, 10n * PRICE)
    expect({
      'escrow spent meanwhile': await refusal(b.run),
      'vouchers spent meanwhile': await refusal(c.run),
      'answered meanwhile': await refusal(again.run),
    }).toEqual({
      'escrow spent meanwhile': [402, 'INSUFFICIENT_ESCROW'],
      'vouchers spent meanwhile': [402, 'CHANNEL_TOTAL_TOO_LOW'],
      'answered meanwhile': [409, 'REQUEST_REPLAYED'],
    })
    expect(receipts.counts().inferences).toBe(1)
    expect(receipts.channel(client)).toMatchObject({ authorized: PRICE, charged: PRICE })
    expect(other.counts().inferences).toBe(1)
    expect(other.channel(client)).toMatchObject({ authorized: 2n * PRICE, charged: PRICE })
  })
})
