import { type AddressBook, type Chain, verityContracts } from '@verity/chain'
import { Role } from '@verity/contracts'
import type { Address, Hex } from 'viem'
import { rateThreshold, selectionThreshold, selectReceipts } from './selection.js'

/**
 * The per-verifier selection threshold Settlement fixed for a batch at its commit
 * (`assignmentOf`: the node's sampling rate P from its stake, exposure, commits and full-slash
 * overturns, and the number V of verifiers registered then): a verifier must attest every leaf whose
 * draw is below it (`assignedLeaves`). Read from the chain, so anyone gets the same number.
 */
export async function assignedThreshold(chain: Chain, book: AddressBook, batchId: number | bigint): Promise<bigint> {
  const [assignment] = await verityContracts(chain, book).settlement.read.assignmentOf([BigInt(batchId)])
  return selectionThreshold(assignment.rateBps, assignment.verifiers)
}

/**
 * The threshold a verifier re-executes at: its assignment, or more when it runs with its own fixed
 * share `sampleRate` (a superset: the draws are the same, only the threshold is higher).
 */
export async function verifierThreshold(chain: Chain, book: AddressBook, batchId: number | bigint, sampleRate?: number): Promise<bigint> {
  const assigned = await assignedThreshold(chain, book, batchId)
  if (sampleRate === undefined) return assigned
  const own = rateThreshold(sampleRate)
  return own > assigned ? own : assigned
}

/**
 * Which receipts of a committed batch the registered verifiers will re-execute, by the public
 * selection rule (draws seeded by the commit's block hash, `selectReceipts`): the union over every
 * verifier registered at the commit's block, at their assignment, or at `sampleRate` when the
 * verifiers run with a higher fixed share. Once the commit is mined, anyone — the node included — can
 * compute it; that is why unavailable data is challenged on-chain rather than trusted to be served.
 *
 * @example
 * const sampled = await sampledReceipts({ chain, book, batchId, blockHash, blockNumber, modes })
 */
export async function sampledReceipts(p: {
  chain: Chain
  book: AddressBook
  batchId: number
  node?: Address
  blockHash: Hex
  blockNumber: bigint
  modes: readonly number[]
  sampleRate?: number
}): Promise<Map<Address, number[]>> {
  const registry = verityContracts(p.chain, p.book).nodeRegistry
  const at = { blockNumber: p.blockNumber }
  const count = Number(await registry.read.operatorCount([Role.verifier], at))
  const verifiers = await Promise.all(Array.from({ length: count }, (_, i) => registry.read.operatorAt([Role.verifier, BigInt(i)], at)))
  const threshold = await verifierThreshold(p.chain, p.book, p.batchId, p.sampleRate)
  return new Map(verifiers.map((v) => [v, selectReceipts(p.blockHash, v, p.batchId, p.modes, threshold)]))
}
