import { ChannelResponse, fetchValid, hashRequest, recoverSigner, requestFromWire } from '@verity/protocol'
import type { Address } from 'viem'
import type { VerityClient } from './createVerityClient.js'

type ChannelState = { total: bigint }

/** Running totals of each client object's channels, by node: state lives as long as the client. */
const channels = new WeakMap<VerityClient, Map<string, Promise<ChannelState>>>()

const FETCH_TIMEOUT_MS = 5_000
const MAX_CHANNEL_BYTES = 64 * 1024

/**
 * Where the client's channel with `node` stands: the highest `channelTotal` it signed, as the node
 * shows it — accepted only as a voucher carrying this client's own signature, so a node cannot make
 * the client authorise more than it already did — and never below what the channel already paid
 * on-chain (a node that lost its records cannot charge the client twice for the same total).
 */
async function loadChannel(client: VerityClient, node: { address: Address; url: string }): Promise<ChannelState> {
  const [shown, paid] = await Promise.all([
    shownVoucher(client, node.url),
    client.contracts.settlement.read.channelPaid([client.account.address, node.address]).catch(() => 0n),
  ])
  return { total: shown > paid ? shown : paid }
}

/** The highest `channelTotal` the node shows as signed by this client (0 when none can be checked). */
async function shownVoucher(client: VerityClient, url: string): Promise<bigint> {
  try {
    // Bounded in time and size; an answer not matching the API's schema shows no voucher the client can check.
    const body = await fetchValid(`${url}/v1/channels/${client.account.address}`, ChannelResponse, {
      timeoutMs: FETCH_TIMEOUT_MS,
      maxBytes: MAX_CHANNEL_BYTES,
    })
    if (!body.voucher) return 0n
    const request = requestFromWire(body.voucher.request, 'voucher.request')
    const signer = recoverSigner(hashRequest(request, client.domain), body.voucher.signature as `0x${string}`)
    return signer?.toLowerCase() === client.account.address.toLowerCase() ? request.channelTotal : 0n
  } catch {
    return 0n
  }
}

/**
 * Reserves `fee` on the client's channel with `node` and returns the new running total to sign as the
 * request's `channelTotal` (docs/protocol.md, "Money"), with `release` to give the reservation back
 * when the node refused the request outright (only if no later request was signed meanwhile).
 */
export async function reserveOnChannel(
  client: VerityClient,
  node: { address: Address; url: string },
  fee: bigint,
): Promise<{ channelTotal: bigint; release(): void }> {
  let mine = channels.get(client)
  if (!mine) {
    mine = new Map()
    channels.set(client, mine)
  }
  const key = node.address.toLowerCase()
  let loading = mine.get(key)
  if (!loading) {
    loading = loadChannel(client, node)
    mine.set(key, loading)
  }
  const state = await loading
  state.total += fee
  const channelTotal = state.total
  return {
    channelTotal,
    release() {
      if (state.total === channelTotal) state.total -= fee
    },
  }
}
