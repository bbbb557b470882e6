import {
  eip712Types,
  hashReceipt,
  hashRequest,
  type InferenceRequest,
  nodeRegistryAbi,
  type Receipt,
  Role,
  settlementAbi,
  verityDomain,
  verityTokenAbi,
} from '@verity/contracts'
import {
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  type Hex,
  http,
  keccak256,
  type PublicClient,
  toHex,
} from 'viem'
import { type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts'
import type { AttackedNetwork } from './attackedNetwork.js'

/**
 * Attacks on the money rules (docs/protocol.md, "Money"), each run as a hostile party would: its own
 * key, plain viem against the devnet's JSON-RPC URL, raw HTTP. They sit outside the honest roles; the
 * devnet runs them after its workload (`verity devnet --adversary escrow-thief …`) and tests assert
 * their outcome: nothing stolen, no honest party slashed, nothing settled twice.
 */
export const MONEY_ATTACKS = ['escrow-thief', 'replayer', 'model-swapper', 'stake-exhauster'] as const
export type MoneyAttack = (typeof MONEY_ATTACKS)[number]

export type AttackReport = {
  strategy: MoneyAttack
  attacker: Address
  /** Each step tried, and what the chain or the network answered. */
  steps: { tried: string; outcome: string }[]
  /** Tokens moved from other parties to the attacker (escrow redeemed by it, stake of others). */
  stolen: bigint
  /** Stake taken from honest nodes and verifiers during the attack. */
  honestSlashed: bigint
  /** Stake taken from the attacker. */
  attackerSlashed: bigint
  /** Channels debited beyond the highest total their client signed for that node. */
  settledTwice: number
}

export const TOKEN = 10n ** 18n

/** A hostile party on the devnet: its key, its clients, and its contract calls (reverts returned by name). */
export type Attacker = {
  account: PrivateKeyAccount
  address: Address
  publicClient: PublicClient
  domain: { chainId: number; settlement: Address }
  send(address: Address, abi: readonly unknown[], functionName: string, args: readonly unknown[]): Promise<SendResult>
  settlement(functionName: string, args: readonly unknown[]): Promise<SendResult>
  nextSequence(): number
  stake(who: Address): Promise<bigint>
  signRequest(request: InferenceRequest): Promise<Hex>
}

export type SendResult = { ok: true } | { ok: false; error: string }

/** A hostile party with its own key: registered as an inference node with the minimum stake. */
export async function attackerOn(net: AttackedNetwork, key: Hex, endpoint: string): Promise<Attacker> {
  const account = privateKeyToAccount(key)
  const transport = http(net.chain.rpcUrl)
  const chain = {
    id: net.chain.chainId,
    name: 'devnet',
    nativeCurrency: { name: 'ETH', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [net.chain.rpcUrl] } },
  }
  const publicClient = createPublicClient({ chain, transport })
  const wallet = createWalletClient({ account, chain, transport })
  const settlement = net.book.contracts.settlement
  const domain = { chainId: net.chain.chainId, settlement }
  /** Sends a contract call as is; returns the revert's error name instead of throwing. */
  async function send(address: Address, abi: readonly unknown[], functionName: string, args: readonly unknown[]): Promise<SendResult> {
    try {
      const { request } = await publicClient.simulateContract({ account, address, abi, functionName, args } as never)
      const hash = await wallet.writeContract(request as never)
      const receipt = await publicClient.waitForTransactionReceipt({ hash })
      return receipt.status === 'success' ? { ok: true } : { ok: false, error: 'reverted' }
    } catch (error) {
      const revert = error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : undefined
      return {
        ok: false,
        error: (revert as ContractFunctionRevertedError | undefined)?.data?.errorName ?? (error as Error).message.split('\n')[0]!,
      }
    }
  }
  const min = net.book.params.minInferenceStake
  await send(net.book.contracts.token, verityTokenAbi, 'approve', [net.book.contracts.nodeRegistry, 2n ** 255n])
  await send(net.book.contracts.token, verityTokenAbi, 'approve', [settlement, 2n ** 255n])
  const registered = await send(net.book.contracts.nodeRegistry, nodeRegistryAbi, 'register', [Role.inference, endpoint, min])
  if (!registered.ok) throw new Error(`the attacker could not register: ${registered.error}`)
  let sequence = 0
  return {
    account,
    address: account.address,
    publicClient,
    domain,
    send,
    settlement: (functionName: string, args: readonly unknown[]) => send(settlement, settlementAbi, functionName, args),
    nextSequence: () => ++sequence,
    async stake(who: Address): Promise<bigint> {
      const op = await publicClient.readContract({
        address: net.book.contracts.nodeRegistry,
        abi: nodeRegistryAbi,
        functionName: 'getOperator',
        args: [who, Role.inference],
      })
      return op.staked
    },
    async signRequest(request: InferenceRequest): Promise<Hex> {
      return account.signTypedData({ domain: verityDomain(domain), types: eip712Types, primaryType: 'InferenceRequest', message: request })
    },
  }
}

/** Waits until the chain's clock passes `timestamp` (the devnet mines a block per transaction: nudge it). */
export async function chainPast(net: AttackedNetwork, timestamp: bigint): Promise<void> {
  for (;;) {
    const block = await net.chain.publicClient.getBlock({ blockTag: 'latest' })
    if (block.timestamp > timestamp) return
    await new Promise((r) => setTimeout(r, 500))
    await net.chain.mine()
  }
}

export async function committedAt(net: AttackedNetwork, batchId: bigint): Promise<bigint> {
  const batch = await net.chain.publicClient.readContract({
    address: net.book.contracts.settlement,
    abi: settlementAbi,
    functionName: 'getBatch',
    args: [batchId],
  })
  return BigInt(batch.committedAt)
}

export async function lastBatchId(net: AttackedNetwork): Promise<bigint> {
  return net.chain.publicClient.readContract({ address: net.book.contracts.settlement, abi: settlementAbi, functionName: 'batchCount' })
}

/** Escrow the attacker redeemed from other clients, and channels debited beyond what their client signed. */
export async function ledger(
  net: AttackedNetwork,
  attacker: Address,
  fromBlock: bigint,
): Promise<{ stolen: bigint; settledTwice: number }> {
  const redeemed = await net.chain.publicClient.getContractEvents({
    address: net.book.contracts.settlement,
    abi: settlementAbi,
    eventName: 'Redeemed',
    fromBlock,
    strict: true,
  })
  const stolen = redeemed
    .filter((e) => e.args.node.toLowerCase() === attacker.toLowerCase() && e.args.client.toLowerCase() !== attacker.toLowerCase())
    .reduce((s, e) => s + e.args.debited, 0n)
  // Per channel, the debits never exceed the last total redeemed (each redemption debits only the increase).
  const perChannel = new Map<string, { debited: bigint; top: bigint }>()
  for (const e of redeemed) {
    const key = `${e.args.client}|${e.args.node}`
    const entry = perChannel.get(key) ?? { debited: 0n, top: 0n }
    entry.debited += e.args.debited + e.args.shortfall
    entry.top = e.args.channelTotal > entry.top ? e.args.channelTotal : entry.top
    perChannel.set(key, entry)
  }
  return { stolen, settledTwice: [...perChannel.values()].filter((c) => c.debited > c.top).length }
}

export async function honestStakes(net: AttackedNetwork, attacker: Attacker): Promise<bigint> {
  let total = 0n
  for (const n of net.nodes) total += await attacker.stake(n.node.address)
  for (const v of net.verifiers) {
    const op = await net.chain.publicClient.readContract({
      address: net.book.contracts.nodeRegistry,
      abi: nodeRegistryAbi,
      functionName: 'getOperator',
      args: [v.address, Role.verifier],
    })
    total += op.staked
  }
  return total
}

/** A receipt the attacker makes up and signs as its own, answering `request` (signed by whoever). */
export async function forgedReceipt(
  attacker: Attacker,
  request: InferenceRequest,
  client: Address,
  overrides: Partial<Receipt> = {},
): Promise<{ receipt: Receipt; signature: Hex }> {
  const receipt: Receipt = {
    requestHash: hashRequest(request, attacker.domain),
    modelId: request.modelId,
    inputHash: request.inputHash,
    outputHash: keccak256(toHex('made up')),
    node: attacker.address,
    client,
    fee: request.maxFee,
    issuedAt: BigInt(Math.floor(Date.now() / 1000)),
    mode: request.mode,
    ...overrides,
  }
  return { receipt, signature: await attacker.account.sign({ hash: hashReceipt(receipt, attacker.domain) }) }
}

/** The data challenges against a batch since block `since`, once `receipts` of its receipts have one (or after 30 s). */
export async function dataChallengesOf(net: AttackedNetwork, batchId: bigint, since: bigint, receipts: number) {
  for (let i = 0; ; i++) {
    const opened = await net.chain.publicClient.getContractEvents({
      address: net.book.contracts.settlement,
      abi: settlementAbi,
      eventName: 'DataChallenged',
      args: { batchId },
      fromBlock: since - 5n,
      strict: true,
    })
    if (new Set(opened.map((e) => e.args.receiptIndex)).size >= receipts || i >= 120) return opened
    await new Promise((r) => setTimeout(r, 250))
  }
}
