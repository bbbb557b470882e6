import { type AddressBook, type Chain, DERIVED_DEFAULTS, scanLogs, verityContracts } from '@verity/chain'
import { nodeRegistryAbi, Role } from '@verity/contracts'
import type { Address, Hex } from 'viem'
import { perVerifierRate, samplingRate, selectionSeed, selectReceipts } from './selection.js'

/** The adaptive sampling policy of the derived defaults (docs/economics.md); the receipt slash is the deployment's. */
const SAMPLING_POLICY = {
  baseRateBps: DERIVED_DEFAULTS.baseRateBps,
  newNodeRateBps: DERIVED_DEFAULTS.newNodeRateBps,
  maturityCommits: DERIVED_DEFAULTS.maturityCommits,
  overturnedRateBps: DERIVED_DEFAULTS.overturnedRateBps,
  maxRateBps: DERIVED_DEFAULTS.maxRateBps,
}

/**
 * The share of a batch's optimistic receipts each verifier re-executes by default: the node's adaptive
 * rate P (`samplingRate`, from its stake, exposure, commits and overturned receipts as of the commit's
 * block) spread over the registered verifiers, so that with all of them honest a receipt is checked
 * with probability P. Everything it reads is on-chain at `blockNumber`: anyone can recompute it.
 */
export async function verifierSampleRate(chain: Chain, book: AddressBook, node: Address, blockNumber: bigint): Promise<number> {
  const contracts = verityContracts(chain, book)
  const at = { blockNumber }
  const [exposure, operator, verifiers, overturned] = await Promise.all([
    contracts.settlement.read.exposureOf([node], at),
    contracts.nodeRegistry.read.getOperator([node, Role.inference], at),
    contracts.nodeRegistry.read.operatorCount([Role.verifier], at),
    overturnedBefore(chain, book, node, blockNumber),
  ])
  const p = samplingRate(
    { stake: operator.staked, openReceipts: exposure.openReceipts, commits: exposure.commits, overturned },
    { ...SAMPLING_POLICY, receiptSlash: book.params.slashAmount },
  )
  return perVerifierRate(p, Math.max(1, Number(verifiers)))
}

/** The node's receipts overturned before `block`: its full-slash `Slashed` events (decoy concessions pay less and do not count). */
async function overturnedBefore(chain: Chain, book: AddressBook, node: Address, block: bigint): Promise<number> {
  const slashes = await scanLogs(chain, {
    fromBlock: book.deployedAtBlock,
    toBlock: block,
    fetch: (range) =>
      chain.publicClient.getContractEvents({
        abi: nodeRegistryAbi,
        address: book.contracts.nodeRegistry,
        eventName: 'Slashed',
        args: { operator: node, role: Role.inference },
        ...range,
        strict: true,
      }),
  })
  return slashes.filter((e) => e.args.amount === book.params.slashAmount).length
}

/**
 * Which receipts of a committed batch the registered verifiers will re-execute, by the public
 * selection rule (`selectionSeed` from the commit's block hash, `selectReceipts`): the union over every
 * verifier registered at the commit's block, at `sampleRate` when the verifiers run with a fixed rate,
 * else at the adaptive rate. Once the commit is mined, anyone — the node included — can compute it;
 * that is why unavailable data is challenged on-chain rather than trusted to be served.
 *
 * @example
 * const sampled = await sampledReceipts({ chain, book, batchId, node, blockHash, blockNumber, modes })
 */
export async function sampledReceipts(p: {
  chain: Chain
  book: AddressBook
  batchId: number
  node: Address
  blockHash: Hex
  blockNumber: bigint
  modes: readonly number[]
  sampleRate?: number
}): Promise<Map<Address, number[]>> {
  const registry = verityContracts(p.chain, p.book).nodeRegistry
  const at = { blockNumber: p.blockNumber }
  const count = Number(await registry.read.operatorCount([Role.verifier], at))
  const verifiers = await Promise.all(Array.from({ length: count }, (_, i) => registry.read.operatorAt([Role.verifier, BigInt(i)], at)))
  const rate = p.sampleRate ?? (await verifierSampleRate(p.chain, p.book, p.node, p.blockNumber))
  return new Map(verifiers.map((v) => [v, selectReceipts(selectionSeed(p.blockHash, v, p.batchId), p.modes, rate)]))
}
