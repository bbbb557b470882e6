import {
  type Account,
  createPublicClient,
  createWalletClient,
  defineChain,
  type Hex,
  type PublicClient,
  type Transport,
  type Chain as ViemChain,
  type WalletClient,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { DEFAULT_MAX_BLOCK_RANGE } from './scanLogs.js'

/**
 * One EVM chain, whatever the backend: the embedded EDR chain or any JSON-RPC endpoint. Everything
 * else in Verity (deployment, nodes, verifiers, SDK) takes a `Chain`.
 */
export type Chain = {
  kind: 'embedded' | 'rpc'
  /** The HTTP JSON-RPC URL another process can use to reach this chain. */
  rpcUrl: string
  chainId: number
  /** The widest block range one `eth_getLogs` asks for (`scanLogs`, `followEvents`). */
  maxBlockRange: bigint
  viemChain: ViemChain
  transport: Transport
  publicClient: PublicClient<Transport, ViemChain>
  /** A wallet client signing locally with `account` (a private key or a viem account). */
  walletClient(account: Account | Hex): WalletClient<Transport, ViemChain, Account>
  /** Development chains only (embedded, anvil): moves the clock forward and mines a block. */
  increaseTime(seconds: number): Promise<void>
  /** Development chains only: mines `blocks` empty blocks. */
  mine(blocks?: number): Promise<void>
  /** Development chains only: snapshot of the whole state, for `revert`. */
  snapshot(): Promise<Hex>
  revert(id: Hex): Promise<void>
  close(): Promise<void>
}

export function toAccount(account: Account | Hex): Account {
  return typeof account === 'string' ? privateKeyToAccount(account) : account
}

/** Builds the clients shared by both backends. */
export function chainFromTransport(parameters: {
  kind: Chain['kind']
  rpcUrl: string
  chainId: number
  transport: Transport
  pollingInterval: number
  maxBlockRange?: bigint
  close(): Promise<void>
}): Chain {
  const { transport, pollingInterval } = parameters
  const viemChain = defineChain({
    id: parameters.chainId,
    name: parameters.kind === 'embedded' ? 'Verity devnet' : `chain ${parameters.chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [parameters.rpcUrl] } },
  })
  // viem caches getBlockNumber for `pollingInterval` by default: a block number read right after
  // a transaction or a mined block could then be the one from before it (a follower or a scan
  // started from it sees old events). Every read here asks the chain.
  const publicClient = createPublicClient({ chain: viemChain, transport, pollingInterval, cacheTime: 0 })
  const call = (method: string, params: unknown[] = []) => publicClient.request({ method, params } as never) as Promise<unknown>
  return {
    kind: parameters.kind,
    rpcUrl: parameters.rpcUrl,
    chainId: parameters.chainId,
    maxBlockRange: parameters.maxBlockRange ?? DEFAULT_MAX_BLOCK_RANGE,
    viemChain,
    transport,
    publicClient,
    walletClient: (account) => createWalletClient({ account: toAccount(account), chain: viemChain, transport, pollingInterval }),
    async increaseTime(seconds) {
      await call('evm_increaseTime', [seconds])
      await call('evm_mine')
    },
    async mine(blocks = 1) {
      for (let i = 0; i < blocks; i++) await call('evm_mine')
    },
    snapshot: async () => (await call('evm_snapshot')) as Hex,
    async revert(id) {
      const ok = await call('evm_revert', [id])
      if (ok !== true) throw new Error(`evm_revert(${id}) failed`)
    },
    close: parameters.close,
  }
}
