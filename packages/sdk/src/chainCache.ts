import { type Chain, firstBlockAtOrAfter } from '@verity/chain'

/** Entries each cache keeps at most (the oldest go first). */
const LIMIT = 10_000

export type ChainCache = {
  /** A block's timestamp, ms. */
  blockTimeMs(blockNumber: bigint): Promise<number>
  /** The first block at or after `committedAt` (seconds): nothing about a batch committed then precedes it. */
  commitBlock(batchKey: string, committedAt: bigint, low: bigint): Promise<bigint>
}

const caches = new WeakMap<Chain, ChainCache>()

/**
 * Block facts that never change once read (a block's time, where a batch's events start), cached
 * per chain connection and bounded. Per connection, not per chain id and address: two development
 * chains (two devnets in one process, a devnet restarted) share the id 31337 and the deployer's
 * contract addresses, and a block number read on one means nothing on the other — a process-wide
 * cache once started a batch's event scan after its challenge, and showed an overturned receipt FINAL.
 */
export function chainCache(chain: Chain): ChainCache {
  let cache = caches.get(chain)
  if (cache) return cache
  const times = new Map<bigint, number>()
  const commits = new Map<string, bigint>()
  const remember = <K, V>(map: Map<K, V>, key: K, value: V) => {
    if (map.size >= LIMIT) map.delete(map.keys().next().value as K)
    map.set(key, value)
  }
  cache = {
    async blockTimeMs(blockNumber) {
      let t = times.get(blockNumber)
      if (t === undefined) {
        t = Number((await chain.publicClient.getBlock({ blockNumber })).timestamp) * 1000
        remember(times, blockNumber, t)
      }
      return t
    },
    async commitBlock(batchKey, committedAt, low) {
      const key = `${batchKey}@${committedAt}`
      let block = commits.get(key)
      if (block === undefined) {
        block = await firstBlockAtOrAfter(chain, committedAt, low)
        remember(commits, key, block)
      }
      return block
    },
  }
  caches.set(chain, cache)
  return cache
}
