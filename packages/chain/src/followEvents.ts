import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import type { Abi, Address, ContractEventName, GetContractEventsReturnType } from 'viem'
import type { Chain } from './chain.js'

/** Where a follower keeps the last block it fully processed, so it resumes there after a restart. */
export type CursorStore = {
  load(): Promise<bigint | undefined> | bigint | undefined
  save(lastProcessedBlock: bigint): Promise<void> | void
}

/** A cursor kept in memory (tests, one-shot tools). */
export function memoryCursor(start?: bigint): CursorStore & { value: bigint | undefined } {
  const store = {
    value: start,
    load: () => store.value,
    save: (block: bigint) => {
      store.value = block
    },
  }
  return store
}

/** A cursor kept in a small file, replaced atomically. */
export function fileCursor(path: string): CursorStore {
  return {
    load: () => (existsSync(path) ? BigInt(readFileSync(path, 'utf8').trim()) : undefined),
    save: (block) => {
      writeFileSync(`${path}.tmp`, `${block}\n`)
      renameSync(`${path}.tmp`, path)
    },
  }
}

export type FollowEventsParameters<abi extends Abi> = {
  chain: Chain
  abi: abi
  address: Address | Address[]
  /** Where to start when the cursor is empty. */
  fromBlock: bigint
  cursor: CursorStore
  /** Deliver a block's logs only once it has this many blocks on top of it (default 0). */
  confirmations?: number
  /** Poll interval in ms (default 1000). */
  pollIntervalMs?: number
  /** Largest block range per eth_getLogs call (default: the chain's `maxBlockRange`). */
  maxBlockRange?: bigint
  /**
   * Called with the decoded logs of each block range, in order, before the cursor moves past it.
   * Delivery is at least once (a crash before the cursor is saved repeats the range), so handlers
   * must be idempotent.
   */
  onLogs(
    logs: GetContractEventsReturnType<abi, ContractEventName<abi>, true>,
    range: { fromBlock: bigint; toBlock: bigint },
  ): Promise<void> | void
  /** Called when a poll fails; the follower retries on the next tick. */
  onError?(error: unknown): void
}

export type EventFollower = {
  /** Resolves once every log up to the confirmed head at call time has been handled. */
  caughtUp(): Promise<bigint>
  stop(): Promise<void>
}

/**
 * Follows contract events with confirmations and a resumable cursor.
 *
 * @example
 * const follower = followEvents({ chain, abi: settlementAbi, address, fromBlock: book.deployedAtBlock, cursor: memoryCursor(),
 *   onLogs: (logs) => logs.forEach((log) => console.log(log.eventName, log.args)) })
 */
export function followEvents<const abi extends Abi>(parameters: FollowEventsParameters<abi>): EventFollower {
  const confirmations = BigInt(parameters.confirmations ?? 0)
  const maxRange = parameters.maxBlockRange ?? parameters.chain.maxBlockRange
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> = Promise.resolve()
  let processedThrough: bigint | undefined
  const waiters: { target: bigint; resolve(block: bigint): void }[] = []

  const poll = async () => {
    const head = await parameters.chain.publicClient.getBlockNumber({ cacheTime: 0 })
    const safe = head - confirmations
    let last = (await parameters.cursor.load()) ?? parameters.fromBlock - 1n
    while (!stopped && last < safe) {
      const fromBlock = last + 1n
      const toBlock = safe - fromBlock + 1n > maxRange ? fromBlock + maxRange - 1n : safe
      const logs = await parameters.chain.publicClient.getContractEvents({
        abi: parameters.abi,
        address: parameters.address,
        fromBlock,
        toBlock,
        strict: true,
      } as never)
      await parameters.onLogs(logs as GetContractEventsReturnType<abi, ContractEventName<abi>, true>, { fromBlock, toBlock })
      await parameters.cursor.save(toBlock)
      last = toBlock
    }
    processedThrough = last
    for (const waiter of waiters.splice(0)) {
      if (last >= waiter.target) waiter.resolve(last)
      else waiters.push(waiter)
    }
  }

  const tick = () => {
    if (stopped) return
    running = poll()
      .catch((error) => parameters.onError?.(error))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, parameters.pollIntervalMs ?? 1000)
      })
  }
  tick()

  return {
    async caughtUp() {
      const target = (await parameters.chain.publicClient.getBlockNumber({ cacheTime: 0 })) - confirmations
      if (processedThrough !== undefined && processedThrough >= target) return processedThrough
      return new Promise<bigint>((resolve) => waiters.push({ target, resolve }))
    },
    async stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      await running
    },
  }
}
