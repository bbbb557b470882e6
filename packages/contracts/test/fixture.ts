import {
  type AddressBook,
  ContractRevertError,
  type DeploymentParams,
  deployVerity,
  type EmbeddedChain,
  startEmbeddedChain,
  TxSender,
  type VerityContracts,
  verityContracts,
} from '@verity/chain'

import { expect } from 'vitest'
import { Role } from '../src/index.js'

export const TOKEN = 10n ** 18n

/** Small windows so tests can move the clock past them. */
export const TEST_PARAMS: Partial<DeploymentParams> = {
  challengeWindow: 100,
  maxDisputeDuration: 200,
  unbondingDelay: 1000,
  escrowWithdrawalDelay: 50,
  minInferenceStake: 1000n * TOKEN,
  minVerifierStake: 100n * TOKEN,
  verifierShareBps: 1000,
  challengeBond: 10n * TOKEN,
  disputeClock: 30,
  minMoveTime: 0,
  slashAmount: 500n * TOKEN,
  bountyBps: 5000,
}

export type Fixture = {
  chain: EmbeddedChain
  book: AddressBook
  contracts: VerityContracts
  /** senders[0] is the deployer (holds the token supply); 1..9 are funded with 100,000 tokens and have approved every contract. */
  senders: TxSender[]
  close(): Promise<void>
}

/** Starts an embedded chain, deploys Verity with TEST_PARAMS, funds and approves accounts 1..9. */
export async function deployFixture(params: Partial<DeploymentParams> = {}): Promise<Fixture> {
  const chain = await startEmbeddedChain()
  const book = await deployVerity({ chain, deployer: chain.accounts[0]!.privateKey, params: { ...TEST_PARAMS, ...params } })
  const contracts = verityContracts(chain, book)
  const senders = chain.accounts.map((account) => new TxSender({ chain, account: account.privateKey }))
  const [deployer, ...others] = senders
  for (const sender of others) {
    await deployer!.write({
      address: book.contracts.token,
      abi: contracts.token.abi,
      functionName: 'transfer',
      args: [sender.address, 100_000n * TOKEN],
    })
    for (const spender of [book.contracts.settlement, book.contracts.nodeRegistry]) {
      await sender.write({ address: book.contracts.token, abi: contracts.token.abi, functionName: 'approve', args: [spender, 2n ** 255n] })
    }
  }
  return { chain, book, contracts, senders, close: () => chain.close() }
}

/** Registers `sender` in `role` with `amount` of stake. */
export async function registerOperator(
  f: Fixture,
  sender: TxSender,
  role: keyof typeof Role,
  amount?: bigint,
  endpoint = 'http://127.0.0.1:1',
) {
  const stake = amount ?? (role === 'inference' ? 1000n : 100n) * TOKEN
  return sender.write({
    address: f.book.contracts.nodeRegistry,
    abi: f.contracts.nodeRegistry.abi,
    functionName: 'register',
    args: [Role[role], endpoint, stake],
  })
}

/** Awaits `action` and asserts it failed with the contract's custom error `errorName` (and `args` when given). */
export async function expectRevert(action: Promise<unknown>, errorName: string, args?: readonly unknown[]): Promise<ContractRevertError> {
  const error = await action.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error, `expected a revert with ${errorName}`).toBeInstanceOf(ContractRevertError)
  const revert = error as ContractRevertError
  expect(revert.errorName).toBe(errorName)
  if (args) expect(revert.args).toEqual(args)
  return revert
}
