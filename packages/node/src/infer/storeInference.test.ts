import { hashRequest, inputsToWire, receiptToWire } from '@verity/contracts'
import { runQuantized } from '@verity/runtime'
import type { Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import {
  clientAccount,
  domain,
  freshStore,
  mnist8,
  nodeAccount,
  PRICE,
  refusal,
  type SignedInfer,
  signedInfer,
} from '../../test/inferFixture.js'
import type { ReceiptStore } from '../receiptStore.js'
import { signReceipt } from './signReceipt.js'
import { storeInference } from './storeInference.js'

const client = clientAccount.address.toLowerCase() as Hex

/** Signs the honest answer to `signed` and stores it with `escrow` as last read. */
async function store(receipts: ReceiptStore, signed: SignedInfer, escrow: bigint) {
  const { model } = mnist8()
  const outputs = runQuantized(model, signed.inputs).outputs
  const requestHash = hashRequest(signed.request, domain)
  const nowMs = 1_800_000_000_500
  const answer = await signReceipt({
    ...signed,
    requestHash,
    inputHash: signed.request.inputHash,
    outputs,
    client,
    fee: signed.request.maxFee,
    nowMs,
    account: nodeAccount,
    domain,
  })
  const run = () =>
    storeInference({
      store: receipts,
      model,
      ...signed,
      clientSignature: signed.signature,
      outputs,
      ...answer,
      escrow,
      executedAtMs: nowMs,
      computeMs: 1.5,
    })
  return { outputs, answer, run }
}

describe('storeInference', () => {
  it('stores the receipt, request, inputs and outputs, charges the channel, and returns the answer', async () => {
    const { model } = mnist8()
    const receipts = freshStore()
    const signed = await signedInfer(7)
    const { outputs, answer, run } = await store(receipts, signed, 10n * PRICE)
    const body = JSON.parse(await run())
    expect(body).toEqual({
      inferenceId: answer.id,
      receipt: JSON.parse(JSON.stringify(receiptToWire(answer.receipt))),
      signature: answer.signature,
      outputs: { Plus214_Output_0: expect.objectContaining({ shape: [1, 10], raw: Array.from(outputs[0]!) }) },
    })
    const scale = body.outputs.Plus214_Output_0.scale
    expect(body.outputs.Plus214_Output_0.values).toEqual(Array.from(outputs[0]!, (v) => v * scale))
    expect(receipts.getInference(answer.id)).toMatchObject({
      client,
      nonce: signed.request.nonce.toString(),
      fee: PRICE.toString(),
      outputHash: answer.receipt.outputHash,
      executedAtMs: 1_800_000_000_500,
      computeMs: 1.5,
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
