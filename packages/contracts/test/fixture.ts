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
import { tensorBytes, tensorsHash } from '@verity/runtime'
import { type Address, type Hex, keccak256, toHex } from 'viem'
import { expect } from 'vitest'
import {
  buildBatchTree,
  eip712Types,
  hashReceipt,
  hashRequest,
  type InferenceRequest,
  NO_DECOYS_COMMIT,
  type Receipt,
  Role,
  verityDomain,
} from '../src/index.js'

export const TOKEN = 10n ** 18n

/**
 * Small windows so tests can move the clock past them. Escrow withdrawals wait longer than the window
 * plus the longest dispute (300 s); each receipt in an open batch reserves 10 tokens of its node's
 * stake, so a node with the minimum 1,000 tokens may have 100 receipts in open batches.
 */
export const TEST_PARAMS: Partial<DeploymentParams> = {
  challengeWindow: 100,
  maxDisputeDuration: 200,
  unbondingDelay: 1000,
  escrowWithdrawalDelay: 400,
  dataResponseTime: 50,
  minInferenceStake: 1000n * TOKEN,
  minVerifierStake: 100n * TOKEN,
  verifierShareBps: 1000,
  challengeBond: 10n * TOKEN,
  dataChallengeBond: 1n * TOKEN,
  disputeClock: 30,
  minMoveTime: 0,
  slashAmount: 10n * TOKEN,
  attesterSlash: 20n * TOKEN,
  // Decoys off unless a test turns them on: finalize then needs no reveal.
  decoyRateBps: 0,
  decoyReward: 0n,
  bountyBps: 5000,
  // Every leaf of every batch assigned to every verifier (P = 100 %): an attestation must set every
  // bit. Tests of partial selections deploy with a lower floor (settlementAssignment.test.ts).
  minSampleRateBps: 10_000,
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

// ─── requests, receipts and batches as the protocol builds them ──────────────────────────────────

export const MODEL = keccak256(toHex('model A'))
export const OTHER_MODEL = keccak256(toHex('model B'))

export const domainOf = (f: Fixture) => ({ chainId: f.chain.chainId, settlement: f.book.contracts.settlement })

/** A deterministic input tensor of 5 int16 values, its canonical bytes (int16 LE) and its `tensorsHash`. */
export function inputOf(seed: number): { tensor: Int16Array; bytes: Hex; hash: Hex } {
  const tensor = Int16Array.from({ length: 5 }, (_, i) => ((seed * 7919 + i * 104_729) % 65_536) - 32_768)
  return { tensor, bytes: toHex(tensorBytes(tensor)), hash: tensorsHash([tensor]) }
}

/** A client's signed request, and the receipt its node answers it with. */
export type Voucher = { request: InferenceRequest; signature: Hex; receipt: Receipt; inputs: Hex[] }

/**
 * `signer` signs a request to `node` for `MODEL` on input `seed`, authorising the running total
 * `channelTotal`; the receipt answers it at `fee` (override any receipt field with `receipt`).
 */
export async function signVoucher(
  f: Fixture,
  parameters: {
    signer: TxSender
    node: Address
    seed: number
    channelTotal: bigint
    fee: bigint
    maxFee?: bigint
    request?: Partial<InferenceRequest>
    receipt?: Partial<Receipt>
  },
): Promise<Voucher> {
  const input = inputOf(parameters.seed)
  const request: InferenceRequest = {
    modelId: MODEL,
    inputHash: input.hash,
    node: parameters.node,
    mode: 1,
    maxFee: parameters.maxFee ?? parameters.fee,
    nonce: BigInt(parameters.seed),
    deadline: 2n ** 40n,
    channelTotal: parameters.channelTotal,
    ...parameters.request,
  }
  const signature = await parameters.signer.account.signTypedData!({
    domain: verityDomain(domainOf(f)),
    types: eip712Types,
    primaryType: 'InferenceRequest',
    message: request,
  })
  const receipt: Receipt = {
    requestHash: hashRequest(request, domainOf(f)),
    modelId: request.modelId,
    inputHash: request.inputHash,
    outputHash: keccak256(toHex(`output ${parameters.seed}`)),
    node: request.node,
    client: parameters.signer.address,
    fee: parameters.fee,
    issuedAt: 1_000n + BigInt(parameters.seed),
    mode: request.mode,
    ...parameters.receipt,
  }
  return { request, signature, receipt, inputs: [input.bytes] }
}

/** Receipts of made-up requests (no client signed them): what a forger commits. */
export function forgedReceipts(count: number, parameters: { node: Address; client: Address; fee: bigint; tag?: string }): Receipt[] {
  return Array.from({ length: count }, (_, i) => ({
    requestHash: keccak256(toHex(`${parameters.tag ?? 'forged'} request ${i}`)),
    modelId: MODEL,
    inputHash: keccak256(toHex(`${parameters.tag ?? 'forged'} input ${i}`)),
    outputHash: keccak256(toHex(`${parameters.tag ?? 'forged'} output ${i}`)),
    node: parameters.node,
    client: parameters.client,
    fee: parameters.fee,
    issuedAt: 1n,
    mode: 1,
  }))
}

/** The tree of a batch (with the decoy commitment of its salt; none by default), with the batch's fee total. */
export function treeOf(f: Fixture, receipts: readonly Receipt[], decoyCommit: Hex = NO_DECOYS_COMMIT) {
  const tree = buildBatchTree(
    receipts.map((r) => hashReceipt(r, domainOf(f))),
    decoyCommit,
  )
  return { tree, feeTotal: receipts.reduce((sum, r) => sum + r.fee, 0n) }
}

/** What `redeem` takes beside the request: the rest of the receipt and where it is committed. */
export function redemptionOf(receipt: Receipt, batchId: bigint, index: number, proof: readonly Hex[]) {
  return { outputHash: receipt.outputHash, fee: receipt.fee, issuedAt: receipt.issuedAt, batchId, index, proof: [...proof] }
}

/** Ascending address order, as `finalize` wants its attesters. */
export const sortAddresses = (addresses: readonly Address[]) =>
  [...addresses].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0))
