import { createPublicClient, http } from 'viem'
import { type Chain, chainFromTransport } from './chain.js'
import { ChainMismatchError, RpcUnavailableError } from './errors.js'

export type ConnectParameters = {
  /** Fail unless the endpoint serves this chain id. */
  expectedChainId?: number
  /** How often to poll for blocks and receipts, in ms (default 1000). */
  pollingInterval?: number
  /** Per-request timeout in ms (default 30000). */
  timeout?: number
  /** The widest block range one `eth_getLogs` asks for (default 2,000): set it to what the provider accepts. */
  maxBlockRange?: bigint
}

/**
 * Connects to any EVM JSON-RPC endpoint (anvil, a node, an L2 provider).
 *
 * @example
 * const chain = await connect('http://127.0.0.1:8545')
 * console.log(chain.chainId, await chain.publicClient.getBlockNumber())
 */
export async function connect(rpcUrl: string, parameters: ConnectParameters = {}): Promise<Chain> {
  const transport = http(rpcUrl, { timeout: parameters.timeout ?? 30_000, retryCount: 3, retryDelay: 200 })
  let chainId: number
  try {
    chainId = await createPublicClient({ transport }).getChainId()
  } catch (error) {
    throw new RpcUnavailableError(rpcUrl, error)
  }
  if (parameters.expectedChainId !== undefined && parameters.expectedChainId !== chainId) {
    throw new ChainMismatchError(parameters.expectedChainId, chainId)
  }
  return chainFromTransport({
    kind: 'rpc',
    rpcUrl,
    chainId,
    transport,
    pollingInterval: parameters.pollingInterval ?? 1000,
    ...(parameters.maxBlockRange === undefined ? {} : { maxBlockRange: parameters.maxBlockRange }),
    close: async () => {},
  })
}
