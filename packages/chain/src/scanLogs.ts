import type { Chain } from './chain.js'

/**
 * The widest block range one `eth_getLogs` call asks for unless configured otherwise. Public
 * JSON-RPC providers refuse wide ranges (commonly beyond 2,000–10,000 blocks); every scan in Verity
 * goes through `scanLogs` or `followEvents`, which never ask for more than the chain's
 * `maxBlockRange` (`connect(url, { maxBlockRange })`, `--log-range` on the CLI).
 */
export const DEFAULT_MAX_BLOCK_RANGE = 2000n

/** The block ranges `[fromBlock, toBlock]` is scanned in, oldest first, each at most `maxBlockRange` blocks. */
export function blockRanges(fromBlock: bigint, toBlock: bigint, maxBlockRange: bigint): { fromBlock: bigint; toBlock: bigint }[] {
  if (maxBlockRange < 1n) throw new RangeError(`maxBlockRange must be at least 1, got ${maxBlockRange}`)
  const ranges: { fromBlock: bigint; toBlock: bigint }[] = []
  for (let from = fromBlock; from <= toBlock; from += maxBlockRange) {
    const to = from + maxBlockRange - 1n
    ranges.push({ fromBlock: from, toBlock: to < toBlock ? to : toBlock })
  }
  return ranges
}

export type ScanLogsParameters<log> = {
  fromBlock: bigint
  /** Last block to scan (default: the head when the scan starts). */
  toBlock?: bigint
  /** Largest range per call (default: the chain's `maxBlockRange`). */
  maxBlockRange?: bigint
  /** Fetches one range's logs (`getContractEvents` or a raw `eth_getLogs`). */
  fetch(range: { fromBlock: bigint; toBlock: bigint }): Promise<readonly log[]>
  /** Stops the scan early once the logs found so far say enough (checked after each range). */
  done?(found: readonly log[]): boolean
}

/**
 * Logs over a block span in bounded ranges, oldest first.
 *
 * @example
 * const commits = await scanLogs(chain, { fromBlock: book.deployedAtBlock, fetch: (range) =>
 *   chain.publicClient.getContractEvents({ abi: settlementAbi, address, eventName: 'BatchCommitted', ...range, strict: true }) })
 */
export async function scanLogs<log>(chain: Chain, parameters: ScanLogsParameters<log>): Promise<log[]> {
  const toBlock = parameters.toBlock ?? (await chain.publicClient.getBlockNumber({ cacheTime: 0 }))
  const found: log[] = []
  for (const range of blockRanges(parameters.fromBlock, toBlock, parameters.maxBlockRange ?? chain.maxBlockRange)) {
    found.push(...(await parameters.fetch(range)))
    if (parameters.done?.(found)) break
  }
  return found
}

/**
 * The first block whose timestamp is at least `timestamp` (seconds), by binary search over
 * `[low, head]`: where to start scanning for events that cannot precede a known time (a batch's
 * commit). Returns `head + 1` when every block is older.
 */
export async function firstBlockAtOrAfter(chain: Chain, timestamp: bigint, low: bigint): Promise<bigint> {
  let lo = low
  let hi = (await chain.publicClient.getBlockNumber({ cacheTime: 0 })) + 1n
  while (lo < hi) {
    const mid = (lo + hi) / 2n
    if ((await chain.publicClient.getBlock({ blockNumber: mid })).timestamp < timestamp) lo = mid + 1n
    else hi = mid
  }
  return lo
}
