import { type EmbeddedChain, startEmbeddedChain } from '@verity/chain'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chainCache } from './chainCache.js'

/**
 * Two development chains share the chain id 31337 and the deployer's contract addresses: block facts
 * cached for one must never be used for the other (a batch's event scan started after its challenge).
 */
describe('chainCache', () => {
  let a: EmbeddedChain
  let b: EmbeddedChain
  beforeAll(async () => {
    ;[a, b] = await Promise.all([startEmbeddedChain(), startEmbeddedChain()])
  })
  afterAll(async () => Promise.all([a?.close(), b?.close()]))

  it('keeps block facts per chain connection: the same batch key on another chain with the same id is searched again', async () => {
    const t0 = (await a.publicClient.getBlock()).timestamp
    await a.mine(20)
    await a.increaseTime(5)
    const head = await a.publicClient.getBlockNumber({ cacheTime: 0 })
    const committedAt = (await a.publicClient.getBlock({ blockNumber: head })).timestamp
    const key = '0x5e771e:3'
    expect(await chainCache(a).commitBlock(key, committedAt, 0n)).toBe(head)
    // Chain b has its own blocks at those numbers, or none: its first block at `committedAt` is its
    // next one, not chain a's block `head`.
    expect(a.chainId).toBe(b.chainId)
    const bHead = await b.publicClient.getBlockNumber({ cacheTime: 0 })
    expect(await chainCache(b).commitBlock(key, committedAt, 0n)).toBe(bHead + 1n)
    await b.increaseTime(Number(committedAt - t0) + 1)
    expect(await chainCache(b).commitBlock(key, committedAt, 0n)).toBe(bHead + 1n)
    // A block's time, read once per chain.
    expect(await chainCache(b).blockTimeMs(bHead + 1n)).toBe(
      Number((await b.publicClient.getBlock({ blockNumber: bHead + 1n })).timestamp) * 1000,
    )
    expect(chainCache(a)).toBe(chainCache(a))
    expect(chainCache(a)).not.toBe(chainCache(b))
  })
})
