import { createRequire } from 'node:module'
import { custom, hexToBytes } from 'viem'
import { type Chain, chainFromTransport } from './chain.js'
import { type DevAccount, devAccounts } from './devAccounts.js'
import { compatibleRpc } from './rpcCompat.js'
import { serveJsonRpc } from './rpcServer.js'

const require = createRequire(import.meta.url)
type Edr = typeof import('@nomicfoundation/edr')
type EdrProvider = Awaited<ReturnType<InstanceType<Edr['EdrContext']>['createProvider']>>

export type StartEmbeddedChainParameters = {
  /** Port of the JSON-RPC server (default 0: a free port). */
  port?: number
  /** Address the JSON-RPC server listens on (default 127.0.0.1; 0.0.0.0 serves other machines). */
  host?: string
  chainId?: number
  /** Number of prefunded development accounts (default 10, the anvil/Hardhat mnemonic). */
  accounts?: number
  /** Ether given to each development account, in wei (default 10,000 ETH). */
  balance?: bigint
  /** Mine a block every `blockTimeMs` as well as one per transaction (default: per transaction only). */
  blockTimeMs?: number
  /** Block gas limit (default 60M). */
  blockGasLimit?: bigint
}

export type EmbeddedChain = Chain & { kind: 'embedded'; accounts: DevAccount[] }

type RpcErrorObject = { code: number; message: string; data?: unknown }

/**
 * EDR reports a revert with `data: { reason, data: '0x…' }`; Ethereum clients (geth, anvil) and
 * viem expect `code: 3` and the revert bytes as `data`. Normalized so tools decode custom errors.
 */
function normalizeError(error: RpcErrorObject): RpcErrorObject {
  const inner = error.data as { data?: unknown } | null | undefined
  if (inner && typeof inner === 'object' && typeof inner.data === 'string' && inner.data.startsWith('0x')) {
    return { code: 3, message: error.message, data: inner.data }
  }
  return error
}

let context: Promise<{ edr: Edr; context: InstanceType<Edr['EdrContext']> }> | undefined

/** EDR allows one context per process; it is created on first use. */
function edrContext() {
  context ??= (async () => {
    const edr = require('@nomicfoundation/edr') as Edr
    const created = new edr.EdrContext()
    await created.registerProviderFactory(edr.L1_CHAIN_TYPE, edr.l1ProviderFactory())
    return { edr, context: created }
  })()
  return context
}

/**
 * Starts an in-process EVM (Nomic Foundation's EDR, the engine of Hardhat) with prefunded
 * development accounts, and serves it as JSON-RPC over HTTP (on 127.0.0.1 unless `host` says) so tools in other
 * processes (viem, cast, a wallet, `verity node …`) can connect. In-process callers use a direct
 * transport with no HTTP in between.
 *
 * @example
 * const chain = await startEmbeddedChain()
 * console.log(chain.rpcUrl, await chain.publicClient.getBlockNumber())
 * await chain.close()
 */
export async function startEmbeddedChain(parameters: StartEmbeddedChainParameters = {}): Promise<EmbeddedChain> {
  const { edr, context } = await edrContext()
  const chainId = parameters.chainId ?? 31337
  const accounts = devAccounts(parameters.accounts ?? 10)
  const balance = parameters.balance ?? 10_000n * 10n ** 18n
  const hardfork = edr.PRAGUE
  const blockGasLimit = parameters.blockGasLimit ?? 60_000_000n
  const provider: EdrProvider = await context.createProvider(
    edr.L1_CHAIN_TYPE,
    {
      allowBlocksWithSameTimestamp: true,
      allowUnlimitedContractSize: false,
      bailOnCallFailure: true,
      bailOnTransactionFailure: false,
      chainId: BigInt(chainId),
      coinbase: new Uint8Array(20),
      defaultTransactionGasLimit: 30_000_000n,
      genesisState: [
        ...edr.l1GenesisState(edr.l1HardforkFromString(hardfork)),
        ...accounts.map((account) => ({ address: hexToBytes(account.address), balance })),
      ],
      hardfork,
      initialBaseFeePerGas: 1_000_000_000n,
      minGasPrice: 0n,
      mining: {
        autoMine: true,
        blockGasLimit,
        ...(parameters.blockTimeMs ? { interval: BigInt(parameters.blockTimeMs) } : {}),
        memPool: { order: edr.MineOrdering.Priority },
      },
      network: { genesisBlockGasLimit: blockGasLimit },
      networkId: BigInt(chainId),
      observability: {},
      ownedAccounts: accounts.map((account) => account.privateKey),
      precompileOverrides: [],
    },
    { enable: false, decodeConsoleLogInputsCallback: () => [], printLineCallback: () => {} },
    { subscriptionCallback: () => {} },
    new edr.ContractDecoder(),
  )

  let nextId = 0
  const edrHandle = async (method: string, params: unknown): Promise<Record<string, unknown>> => {
    const response = await provider.handleRequest(JSON.stringify({ jsonrpc: '2.0', id: ++nextId, method, params: params ?? [] }))
    const data = (typeof response.data === 'string' ? JSON.parse(response.data) : response.data) as Record<string, unknown>
    return 'error' in data ? { error: normalizeError(data.error as RpcErrorObject) } : { result: data.result }
  }
  // What geth and anvil answer where EDR differs (cast's input+data, the pending block's number, new filters).
  const handle = compatibleRpc(edrHandle)
  const server = await serveJsonRpc(({ method, params }) => handle(method, params), {
    ...(parameters.port === undefined ? {} : { port: parameters.port }),
    ...(parameters.host === undefined ? {} : { host: parameters.host }),
  })
  const transport = custom(
    {
      async request({ method, params }: { method: string; params?: unknown }) {
        const answer = await handle(method, params)
        if ('error' in answer) {
          const error = answer.error as { code: number; message: string; data?: unknown }
          throw Object.assign(new Error(error.message), { code: error.code, data: error.data })
        }
        return answer.result
      },
    },
    { retryCount: 0 },
  ) // in process there is no network to retry through; a revert is final
  const chain = chainFromTransport({
    kind: 'embedded',
    rpcUrl: server.url,
    chainId,
    transport,
    pollingInterval: 50,
    close: () => server.close(),
  })
  return { ...chain, kind: 'embedded', accounts }
}
