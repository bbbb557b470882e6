import type { InferenceRequest } from '@verity/contracts'
import type { Hex } from 'viem'
import { ApiError } from '../apiError.js'
import { type Channel, chargeChannel, type ReceiptStore } from '../receiptStore.js'

export type PriceRequestParameters = {
  request: InferenceRequest
  requestHash: Hex
  /** The client who signed the request (lowercase). */
  client: Hex
  /** This node's price per inference, in token base units. */
  price: bigint
  /** The client's available escrow on chain, as last read. */
  escrow: bigint
  /** The node's receipts: answered requests, fees not yet redeemed, the client's channel. */
  store: ReceiptStore
}

/**
 * What the request is charged, refused before anything runs when it cannot be paid: the fee is what
 * the client signed (`maxFee`, at least the price), a request already answered is not answered (nor
 * charged) twice, the client's escrow less its unredeemed fees covers it, and so do its vouchers
 * (`channelTotal`). Reads the store; changes nothing.
 *
 * @example
 * const { fee } = priceRequest({ request, requestHash, client, price, escrow, store })
 */
export function priceRequest(p: PriceRequestParameters): { fee: bigint } {
  const { request, client, store } = p
  if (request.maxFee < p.price)
    throw new ApiError(402, 'FEE_TOO_LOW', `this node charges ${p.price} per inference, the request allows ${request.maxFee}`, {
      price: p.price,
      maxFee: request.maxFee,
    })
  // The fee is what the client signed for this request (at least the price): its channel total then
  // grows by exactly the fees of its receipts, so every redeemed amount is backed by receipts.
  const fee = request.maxFee
  const { replayed, channel } = store.admission(client, request.nonce.toString())
  if (replayed) throw new ApiError(409, 'REQUEST_REPLAYED', `request ${p.requestHash} (nonce ${request.nonce}) was already answered`)
  checkSpendable(client, p.escrow, fee, channel)
  // Refuses a fee the client's vouchers do not cover (checked again when stored).
  chargeChannel(channel, request.channelTotal, fee)
  return { fee }
}

/** Refuses a fee beyond the client's escrow less the fees of its receipts not yet redeemed (`channel`: the client's). */
export function checkSpendable(client: Hex, escrow: bigint, fee: bigint, channel: Channel): void {
  // The fees charged that the channel has not paid (`outstandingFees`).
  const outstanding = channel.charged > channel.paid ? channel.charged - channel.paid : 0n
  const spendable = escrow - outstanding
  if (spendable < fee)
    throw new ApiError(402, 'INSUFFICIENT_ESCROW', `client ${client} has ${spendable} spendable in escrow, the fee is ${fee}`, {
      escrow,
      fee,
    })
}
