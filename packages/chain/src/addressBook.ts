import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { type Address, isAddress } from 'viem'
import { AddressBookError } from './errors.js'

/** The parameters a deployment was made with (seconds, token base units, basis points). */
export type DeploymentParams = {
  challengeWindow: number
  maxDisputeDuration: number
  unbondingDelay: number
  escrowWithdrawalDelay: number
  minInferenceStake: bigint
  minVerifierStake: bigint
  verifierShareBps: number
  challengeBond: bigint
  /** Seconds each side of a dispute game may spend in total. */
  disputeClock: number
  /** Seconds every dispute turn grants at least. */
  minMoveTime: number
  /** Stake taken from a node per overturned receipt (dispute lost or data not published); each receipt in an open batch reserves it. */
  slashAmount: bigint
  /** Seconds a node has to publish a challenged receipt's data on-chain. */
  dataResponseTime: number
  /** Stake taken from a verifier that attested a receipt later overturned. */
  attesterSlash: bigint
  /** Share of the slash paid to the winning challenger, in basis points (the rest is burned). */
  bountyBps: number
  /** Forced errors: decoys per batch, in basis points of its leaves (rounded up; docs/economics.md). */
  decoyRateBps: number
  /** Stake a node pays the verifier that challenged one of its decoys. */
  decoyReward: bigint
  /** Bond of a data, availability or inclusion challenge: the node's gas to answer one (paid to it when it does). */
  dataChallengeBond: bigint
  /**
   * Floor of every batch's sampling rate P, in basis points (the adaptive rule of the derived defaults
   * never goes below it): 0 in production; a devnet or test that wants every leaf assigned to every
   * verifier sets 10,000.
   */
  minSampleRateBps: number
}

/** Where a deployment lives: written by `deployVerity`, read by every role. */
export type AddressBook = {
  version: 1
  chainId: number
  deployedAtBlock: bigint
  contracts: {
    token: Address
    modelRegistry: Address
    nodeRegistry: Address
    settlement: Address
    tensorHasher: Address
    oneStepVerifier: Address
    disputeGame: Address
  }
  params: DeploymentParams
}

const CONTRACTS = ['token', 'modelRegistry', 'nodeRegistry', 'tensorHasher', 'settlement', 'oneStepVerifier', 'disputeGame'] as const

/** JSON form: bigints as decimal strings. */
export function serializeAddressBook(book: AddressBook): string {
  return `${JSON.stringify(book, (_, value) => (typeof value === 'bigint' ? value.toString() : value), 2)}\n`
}

/** Parses and validates an address book; `source` names it in errors. */
export function parseAddressBook(text: string, source = 'address book'): AddressBook {
  let raw: Record<string, unknown>
  try {
    raw = JSON.parse(text)
  } catch {
    throw new AddressBookError(source, 'is not JSON')
  }
  if (raw.version !== 1) throw new AddressBookError(source, `version must be 1, found ${JSON.stringify(raw.version)}`)
  if (!Number.isInteger(raw.chainId)) throw new AddressBookError(source, `chainId must be an integer, found ${JSON.stringify(raw.chainId)}`)
  const contracts = (raw.contracts ?? {}) as Record<string, unknown>
  for (const name of CONTRACTS) {
    if (typeof contracts[name] !== 'string' || !isAddress(contracts[name] as string)) {
      throw new AddressBookError(source, `contracts.${name} must be an address, found ${JSON.stringify(contracts[name])}`)
    }
  }
  const params = (raw.params ?? {}) as Record<string, unknown>
  const int = (name: string) => {
    const value = params[name]
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw new AddressBookError(source, `params.${name} must be a non-negative integer, found ${JSON.stringify(value)}`)
    }
    return value
  }
  const big = (value: unknown, name: string) => {
    if (typeof value !== 'string' || !/^\d+$/.test(value))
      throw new AddressBookError(source, `${name} must be a decimal string, found ${JSON.stringify(value)}`)
    return BigInt(value)
  }
  return {
    version: 1,
    chainId: raw.chainId as number,
    deployedAtBlock: big(raw.deployedAtBlock, 'deployedAtBlock'),
    contracts: Object.fromEntries(CONTRACTS.map((name) => [name, contracts[name] as Address])) as AddressBook['contracts'],
    params: {
      challengeWindow: int('challengeWindow'),
      maxDisputeDuration: int('maxDisputeDuration'),
      unbondingDelay: int('unbondingDelay'),
      escrowWithdrawalDelay: int('escrowWithdrawalDelay'),
      minInferenceStake: big(params.minInferenceStake, 'params.minInferenceStake'),
      minVerifierStake: big(params.minVerifierStake, 'params.minVerifierStake'),
      verifierShareBps: int('verifierShareBps'),
      challengeBond: big(params.challengeBond, 'params.challengeBond'),
      disputeClock: int('disputeClock'),
      minMoveTime: int('minMoveTime'),
      slashAmount: big(params.slashAmount, 'params.slashAmount'),
      dataResponseTime: int('dataResponseTime'),
      attesterSlash: big(params.attesterSlash, 'params.attesterSlash'),
      bountyBps: int('bountyBps'),
      decoyRateBps: int('decoyRateBps'),
      decoyReward: big(params.decoyReward, 'params.decoyReward'),
      dataChallengeBond: big(params.dataChallengeBond, 'params.dataChallengeBond'),
      minSampleRateBps: int('minSampleRateBps'),
    },
  }
}

export function readAddressBook(path: string): AddressBook {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new AddressBookError(path, `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`)
  }
  return parseAddressBook(text, path)
}

/** Writes atomically (temporary file + rename). */
export function writeAddressBook(path: string, book: AddressBook): void {
  writeFileSync(`${path}.tmp`, serializeAddressBook(book))
  renameSync(`${path}.tmp`, path)
}
