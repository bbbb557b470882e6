import { numberToHex } from 'viem'

type Answer = Record<string, unknown>
type Handle = (method: string, params: unknown) => Promise<Answer>

/** Methods whose first parameter is a transaction object. */
const TX_METHODS = new Set(['eth_call', 'eth_estimateGas', 'eth_sendTransaction', 'eth_createAccessList', 'eth_signTransaction'])
/** Filters remembered for their creation head (bounded: the oldest are forgotten first). */
const MAX_FILTERS = 1024

const invalidParams = (message: string, data: unknown): Answer => ({ error: { code: -32602, message, data } })

/**
 * Makes the embedded chain answer JSON-RPC as geth and anvil do where EDR differs and common tools
 * depend on it:
 *
 * - a transaction object with both `input` and `data` (Foundry's `cast call` / `cast estimate` send
 *   both) is accepted when they are equal and refused (-32602, both shown) when they differ; EDR
 *   refused any such object with "duplicate field `data`";
 * - `eth_getBlockByNumber('pending')` carries the pending block's number (head + 1); EDR answered
 *   `"number": null`, which ethers v6 rejects;
 * - a new log filter (`eth_newFilter` from `latest`, the default) or block filter reports only
 *   blocks mined after it was created; EDR's first `eth_getFilterChanges` also returned the block
 *   that was already the head, so a fresh listener saw an old event.
 */
export function compatibleRpc(handle: Handle): Handle {
  /** Filter id → the head when it was created: changes at or below it are not new. */
  const createdAt = new Map<string, { head: bigint; headHash?: string }>()
  const head = async () => {
    const answer = await handle('eth_getBlockByNumber', ['latest', false])
    const block = answer.result as { number: string; hash: string }
    return { head: BigInt(block.number), headHash: block.hash }
  }
  const remember = (id: unknown, at: { head: bigint; headHash?: string }) => {
    if (typeof id !== 'string') return
    if (createdAt.size >= MAX_FILTERS) createdAt.delete(createdAt.keys().next().value as string)
    createdAt.set(id, at)
  }

  return async (method, params) => {
    const list = Array.isArray(params) ? params : []
    if (TX_METHODS.has(method) && typeof list[0] === 'object' && list[0] !== null) {
      const tx = list[0] as Record<string, unknown>
      if ('input' in tx && 'data' in tx) {
        if (tx.input !== tx.data)
          return invalidParams('the transaction has both input and data, and they differ', { input: tx.input, data: tx.data })
        const { data: _, ...rest } = tx
        return handle(method, [rest, ...list.slice(1)])
      }
    }
    if (method === 'eth_getBlockByNumber' && list[0] === 'pending') {
      const answer = await handle(method, params)
      const block = answer.result as { number: string | null } | null | undefined
      if (block && block.number === null) return { result: { ...block, number: numberToHex((await head()).head + 1n) } }
      return answer
    }
    if (method === 'eth_newFilter') {
      const filter = (list[0] ?? {}) as { fromBlock?: unknown }
      const fromLatest = filter.fromBlock === undefined || filter.fromBlock === 'latest' || filter.fromBlock === 'pending'
      const at = fromLatest ? await head() : undefined
      const answer = await handle(method, params)
      if (at) remember(answer.result, { head: at.head })
      return answer
    }
    if (method === 'eth_newBlockFilter') {
      const at = await head()
      const answer = await handle(method, params)
      remember(answer.result, at)
      return answer
    }
    if (method === 'eth_uninstallFilter') createdAt.delete(list[0] as string)
    if (method === 'eth_getFilterChanges') {
      const answer = await handle(method, params)
      const at = createdAt.get(list[0] as string)
      if (!at || !Array.isArray(answer.result)) return answer
      const fresh = (answer.result as unknown[]).filter((item) =>
        typeof item === 'string'
          ? item !== at.headHash
          : BigInt((item as { blockNumber?: string }).blockNumber ?? numberToHex(at.head + 1n)) > at.head,
      )
      return { result: fresh }
    }
    return handle(method, params)
  }
}
