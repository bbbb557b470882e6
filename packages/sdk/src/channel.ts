import { hashRequest, recoverSigner, requestFromWire } from '@verity/contracts'
import type { Address } from 'viem'
import type { VerityClient } from './createVerityClient.js'

type ChannelState = { total: bigint }

/** Running totals of this process's channels, by client and node. */
const channels = new Map<string, Promise<ChannelState>>()

const FETCH_TIMEOUT_MS = 5_000
const MAX_CHANNEL_BYTES = 64 * 1024

/**
 * Where the client's channel with `node` stands: the highest `channelTotal` it signed, as the node
 * shows it — accepted only as a voucher carrying this client's own signature, so a node cannot make
 * the client authorise more than it already did. Zero for a new channel (or a node that shows none).
 */
async function loadChannel(client: VerityClient, url: string): Promise<ChannelState> {
  try {
    const response = await fetch(`${url}/v1/channels/${client.account.address}`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) })
    const text = await response.text()
    if (!response.ok || text.length > MAX_CHANNEL_BYTES) return { total: 0n }
    const body = JSON.parse(text) as { voucher?: { request?: unknown; signature?: unknown } | null }
    if (!body.voucher) return { total: 0n }
    const request = requestFromWire(body.voucher.request, 'voucher.request')
    const signer = recoverSigner(hashRequest(request, client.domain), body.voucher.signature as `0x${string}`)
    return { total: signer?.toLowerCase() === client.account.address.toLowerCase() ? request.channelTotal : 0n }
  } catch {
    return { total: 0n }
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
  const key = `${client.account.address.toLowerCase()}|${node.address.toLowerCase()}`
  let loading = channels.get(key)
  if (!loading) {
    loading = loadChannel(client, node.url)
    channels.set(key, loading)
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
