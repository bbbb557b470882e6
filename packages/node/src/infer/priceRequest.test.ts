import { hashRequest } from '@verity/contracts'
import type { Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { clientAccount, domain, freshStore, honestAnswer, PRICE, refusal, type SignedInfer, signedInfer } from '../../test/inferFixture.js'
import type { ReceiptStore } from '../receiptStore.js'
import { priceRequest } from './priceRequest.js'
import { storeInference } from './storeInference.js'

const client = clientAccount.address.toLowerCase() as Hex

/** Answers `signed` into `store` through the later steps (as the node does once it is priced). */
async function answer(store: ReceiptStore, signed: SignedInfer, escrow: bigint): Promise<void> {
  const requestHash = hashRequest(signed.request, domain)
  const { fee } = priceRequest({ request: signed.request, requestHash, client, price: PRICE, escrow, store })
  const nowMs = Date.now()
  const answer = honestAnswer(signed, fee, nowMs)
  await storeInference({ store, request: signed.request, clientSignature: signed.signature, answer, escrow, executedAtMs: nowMs })
}

const price = (store: ReceiptStore, signed: SignedInfer, escrow: bigint) => () =>
  priceRequest({ request: signed.request, requestHash: hashRequest(signed.request, domain), client, price: PRICE, escrow, store })

describe('priceRequest', () => {
  it('charges what the client signed, at least the price', async () => {
    const store = freshStore()
    const generous = await signedInfer(0, { maxFee: 3n * PRICE, channelTotal: 3n * PRICE })
    expect(price(store, generous, 10n * PRICE)()).toEqual({ fee: 3n * PRICE })
    expect(store.counts().inferences).toBe(0)
  })

  it('refuses a fee under the price, a replay, an escrow that cannot cover it and vouchers that do not', async () => {
    const store = freshStore()
    const first = await signedInfer(0)
    await answer(store, first, 2n * PRICE)
    const outcomes = {
      'a fee under the price': await refusal(
        price(store, await signedInfer(1, { maxFee: PRICE - 1n, channelTotal: 2n * PRICE }), 10n * PRICE),
      ),
      'the answered request again': await refusal(price(store, first, 10n * PRICE)),
      'its nonce again': await refusal(
        price(store, await signedInfer(1, { nonce: first.request.nonce, channelTotal: 2n * PRICE }), 10n * PRICE),
      ),
      // One fee is stored and not redeemed: of an escrow of two fees, one is left …
      'the second fee of two': await refusal(price(store, await signedInfer(1, { channelTotal: 2n * PRICE }), 2n * PRICE)),
      // … and of an escrow of one and a half, half a fee.
      'a fee beyond the escrow left': await refusal(price(store, await signedInfer(1, { channelTotal: 2n * PRICE }), (3n * PRICE) / 2n)),
      'a voucher that does not cover the charges': await refusal(price(store, await signedInfer(1, { channelTotal: PRICE }), 10n * PRICE)),
    }
    expect(outcomes).toEqual({
      'a fee under the price': [402, 'FEE_TOO_LOW'],
      'the answered request again': [409, 'REQUEST_REPLAYED'],
      'its nonce again': [409, 'REQUEST_REPLAYED'],
      'the second fee of two': 'no error',
      'a fee beyond the escrow left': [402, 'INSUFFICIENT_ESCROW'],
      'a voucher that does not cover the charges': [402, 'CHANNEL_TOTAL_TOO_LOW'],
    })
    // Pricing changes nothing: one receipt, one fee charged.
    expect(store.counts().inferences).toBe(1)
    expect(store.channel(client)).toMatchObject({ authorized: PRICE, charged: PRICE })
  })

  it('a refusal says what was expected and what was found', async () => {
    const store = freshStore()
    const low = await signedInfer(1, { maxFee: 5n })
    expect(() => price(store, low, 10n * PRICE)()).toThrowError(`this node charges ${PRICE} per inference, the request allows 5`)
    const broke = await signedInfer(2)
    expect(() => price(store, broke, 7n)()).toThrowError(`client ${client} has 7 spendable in escrow, the fee is ${PRICE}`)
  })
})
