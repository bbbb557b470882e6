import { type AddressBook, type Chain, verityContracts } from '@verity/chain'
import { Role } from '@verity/contracts'
import type { Address, Hex } from 'viem'
import { type Assignment, rateThreshold, type Selection, selectReceipts } from './selection.js'

/**
 * What Settlement fixed for a batch at its commit (`assignmentOf`: the node's sampling rate P from its
 * stake, exposure, commits and full-slash overturns, and the number V of verifiers active then): a
 * verifier must attest every leaf it draws from it (`assignedLeaves`). Read from the chain, so anyone
 * gets the same selection.
 */
export async function assignmentAt(chain: Chain, book: AddressBook, batchId: number | bigint): Promise<Assignment> {
  const [assignment] = await verityContracts(chain, book).settlement.read.assignmentOf([BigInt(batchId)])
  return { rateBps: assignment.rateBps, verifiers: assignment.verifiers }
}

/** What a verifier re-executes in a batch: its assignment, and more when it runs with its own fixed share `sampleRate`. */
export async function verifierSelection(
  chain: Chain,
  book: AddressBook,
  batchId: number | bigint,
  sampleRate?: number,
): Promise<Selection> {
  return { assignment: await assignmentAt(chain, book, batchId), ownThreshold: sampleRate === undefined ? 0n : rateThreshold(sampleRate) }
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
  const selection = await verifierSelection(p.chain, p.book, p.batchId, p.sampleRate)
  return new Map(verifiers.map((v) => [v, selectReceipts(p.blockHash, v, p.batchId, p.modes, selection)]))
}
