import {
  type AddressBook,
  type DeploymentParams,
  deployVerity,
  type EmbeddedChain,
  startEmbeddedChain,
  TxSender,
  type VerityContracts,
  verityContracts,
} from '@verity/chain'
import { buildReceiptTree, hashReceipt, identifyModel, type Receipt, Role } from '@verity/contracts'
import { type LoadedModel, runQuantized, type Trace, tensorsHash } from '@verity/runtime'
import { type Hex, keccak256, toHex } from 'viem'

export const TOKEN = 10n ** 18n
export const FEE = 2n * TOKEN

/** Short windows; clocks of 30 s a side with at least 3 s a turn (2·30 + 191·3 ≤ 700). */
export const DISPUTE_PARAMS: Partial<DeploymentParams> = {
  challengeWindow: 100,
  maxDisputeDuration: 700,
  unbondingDelay: 1000,
  escrowWithdrawalDelay: 50,
  minInferenceStake: 1000n * TOKEN,
  minVerifierStake: 100n * TOKEN,
  verifierShareBps: 1000,
  challengeBond: 10n * TOKEN,
  disputeClock: 30,
  minMoveTime: 3,
  slashAmount: 500n * TOKEN,
  bountyBps: 5000,
}

/** Accounts: 1 the inference node, 2 the verifier (challenger), 3 the client. */
export type DisputeFixture = {
  chain: EmbeddedChain
  book: AddressBook
  contracts: VerityContracts
  node: TxSender
  challenger: TxSender
  client: TxSender
  close(): Promise<void>
}

export async function disputeFixture(params: Partial<DeploymentParams> = {}, nodeStake = 2000n * TOKEN): Promise<DisputeFixture> {
  const chain = await startEmbeddedChain()
  const book = await deployVerity({ chain, deployer: chain.accounts[0]!.privateKey, params: { ...DISPUTE_PARAMS, ...params } })
  const contracts = verityContracts(chain, book)
  const [deployer, node, challenger, client] = chain.accounts.slice(0, 4).map((a) => new TxSender({ chain, account: a.privateKey }))
  for (const sender of [node!, challenger!, client!]) {
    await deployer!.write({
      address: book.contracts.token,
      abi: contracts.token.abi,
      functionName: 'transfer',
      args: [sender.address, 10_000n * TOKEN + nodeStake],
    })
    for (const spender of [book.contracts.settlement, book.contracts.nodeRegistry]) {
      await sender.write({ address: book.contracts.token, abi: contracts.token.abi, functionName: 'approve', args: [spender, 2n ** 255n] })
    }
  }
  const registry = { address: book.contracts.nodeRegistry, abi: contracts.nodeRegistry.abi } as const
  await node!.write({ ...registry, functionName: 'register', args: [Role.inference, 'http://node', nodeStake] })
  await challenger!.write({ ...registry, functionName: 'register', args: [Role.verifier, 'http://verifier', 200n * TOKEN] })
  await client!.write({ address: book.contracts.settlement, abi: contracts.settlement.abi, functionName: 'deposit', args: [100n * TOKEN] })
  return { chain, book, contracts, node: node!, challenger: challenger!, client: client!, close: () => chain.close() }
}

/** Registers `model` (its roots, which name its id) from the node's account; returns the id. */
export async function registerModel(f: DisputeFixture, model: LoadedModel): Promise<Hex> {
  const id = identifyModel(model)
  await f.node.write({
    address: f.book.contracts.modelRegistry,
    abi: f.contracts.modelRegistry.abi,
    functionName: 'register',
    args: [`http://hub/${id.modelId}`, id.artifactHash, id.weightsRoot, id.graphRoot, id.specHash],
  })
  return id.modelId
}

export type Disputed = { gameId: bigint; batchId: bigint; receipts: Receipt[]; index: number; challengeGas: bigint }

/**
 * Commits a batch of two receipts of `model` on `inputs` — receipt 0 claims `claimed`'s output, receipt 1
 * the honest output of other inputs — and challenges receipt 0 from the challenger's account.
 */
export async function commitAndChallenge(f: DisputeFixture, model: LoadedModel, inputs: Int16Array[], claimed: Trace): Promise<Disputed> {
  const outputOf = (trace: Trace) => tensorsHash(model.model.outputs.map((id) => trace.tensors.get(id)!))
  const other = inputs.map((t) => t.map((v) => -v))
  const receipt = (i: number, inputHash: Hex, outputHash: Hex): Receipt => ({
    requestHash: keccak256(toHex(`request ${i}`)),
    modelId: identifyModel(model).modelId,
    inputHash,
    outputHash,
    node: f.node.address,
    client: f.client.address,
    fee: FEE,
    issuedAt: 1n,
    mode: 1,
  })
  const receipts = [
    receipt(0, tensorsHash(inputs), outputOf(claimed)),
    receipt(1, tensorsHash(other), outputOf(runQuantized(model, other, { trace: true }).trace!)),
  ]
  const domain = { chainId: f.chain.chainId, settlement: f.book.contracts.settlement }
  const tree = buildReceiptTree(receipts.map((r) => hashReceipt(r, domain)))
  const settlement = { address: f.book.contracts.settlement, abi: f.contracts.settlement.abi } as const
  await f.node.write({
    ...settlement,
    functionName: 'commitBatch',
    args: [tree.root, 2, 2n * FEE, 'http://node/batch', [{ client: f.client.address, amount: 2n * FEE }]],
  })
  const batchId = await f.contracts.settlement.read.batchCount()
  const { gasUsed } = await f.challenger.write({
    ...settlement,
    functionName: 'challenge',
    args: [batchId, receipts[0]!, 0, tree.proof(0)],
  })
  return { gameId: await f.contracts.settlement.read.challengeCount(), batchId, receipts, index: 0, challengeGas: gasUsed }
}
