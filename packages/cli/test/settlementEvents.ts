import { settlementAbi } from '@verity/contracts'
import { expect } from 'vitest'
import type { Devnet } from '../src/devnet/startDevnet.js'

type SettlementEvent = Extract<(typeof settlementAbi)[number], { type: 'event' }>['name']

/** Every `eventName` event of a devnet's Settlement since its deployment, read back with viem. */
export function settlementEvents<name extends SettlementEvent>(net: Devnet, eventName: name) {
  return net.chain.publicClient.getContractEvents({
    address: net.book.contracts.settlement,
    abi: settlementAbi,
    eventName,
    fromBlock: net.book.deployedAtBlock,
    strict: true,
  })
}

/** Waits until at least `atLeast` batches are committed and every committed batch is finalized. */
export async function untilBatchesFinal(net: Devnet, atLeast: number, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const [committed, finalized] = await Promise.all([settlementEvents(net, 'BatchCommitted'), settlementEvents(net, 'BatchFinalized')])
    if (committed.length >= atLeast && finalized.length === committed.length) return
    expect(Date.now(), `${finalized.length} of ${committed.length} batches final`).toBeLessThan(deadline)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}
