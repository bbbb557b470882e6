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
import {
  buildBatchTree,
  eip712Types,
  hashReceipt,
  hashRequest,
  type InferenceRequest,
  identifyModel,
  NO_DECOYS_COMMIT,
  type Receipt,
  Role,
  verityDomain,
} from '@verity/contracts'
import { type LoadedModel, runQuantized, type Trace, tensorsHash } from '@verity/runtime'
import type { Hex } from 'viem'

export const TOKEN = 10n ** 18n
export const FEE = 2n * TOKEN

/**
 * Short windows; clocks of 30 s a side with at least 3 s a turn (2·30 + 191·3 ≤ 700); escrow
 * withdrawals wait past the window and the longest dispute. Each receipt in an open batch reserves
 * 500 tokens of the node's stake (the 2,000 staked cover the two receipts `commitAndChallenge` commits).
 */
export const DISPUTE_PARAMS: Partial<DeploymentParams> = {
  challengeWindow: 100,
  maxDisputeDuration: 700,
  unbondingDelay: 1000,
  escrowWithdrawalDelay: 900,
  dataResponseTime: 50,
  minInferenceStake: 1000n * TOKEN,
  minVerifierStake: 100n * TOKEN,
  verifierShareBps: 1000,
  challengeBond: 10n * TOKEN,
  disputeClock: 30,
  minMoveTime: 3,
  slashAmount: 500n * TOKEN,
  attesterSlash: 20n * TOKEN,
  // Decoys off unless a test turns them on: finalize then needs no reveal.
  decoyRateBps: 0,
  decoyReward: 0n,
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

export type Disputed = {
  gameId: bigint
  batchId: bigint
  receipts: Receipt[]
  /** The client's signed requests the receipts answer (what `redeem` and `publishData` take). */
  requests: { request: InferenceRequest; signature: Hex }[]
  index: number
  challengeGas: bigint
}

/**
 * Commits a batch of two receipts of `model` on `inputs`, each answering a request the client signed
 * (running channel totals FEE and 2·FEE) — receipt 0 claims `claimed`'s output, receipt 1 the honest
 * output of other inputs — with the node's next commit sequence, and challenges receipt 0's execution
 * from the challenger's account.
 */
export async function commitAndChallenge(f: DisputeFixture, model: LoadedModel, inputs: Int16Array[], claimed: Trace): Promise<Disputed> {
  const outputOf = (trace: Trace) => tensorsHash(model.model.outputs.map((id) => trace.tensors.get(id)!))
  const other = inputs.map((t) => t.map((v) => -v))
  const domain = { chainId: f.chain.chainId, settlement: f.book.contracts.settlement }
  const settlement = { address: f.book.contracts.settlement, abi: f.contracts.settlement.abi } as const
  const { commits } = await f.contracts.settlement.read.exposureOf([f.node.address])
  const requests: Disputed['requests'] = []
  const receipt = async (i: number, inputHash: Hex, outputHash: Hex): Promise<Receipt> => {
    const modelId = identifyModel(model).modelId
    const request: InferenceRequest = {
      modelId,
      inputHash,
      node: f.node.address,
      mode: 1,
      maxFee: FEE,
      nonce: BigInt(2 * commits + i),
      deadline: 2n ** 40n,
      channelTotal: FEE * BigInt(2 * commits + i + 1),
    }
    const signature = await f.client.account.signTypedData!({
      domain: verityDomain(domain),
      types: eip712Types,
      primaryType: 'InferenceRequest',
      message: request,
    })
    requests.push({ request, signature })
    return {
      requestHash: hashRequest(request, domain),
      modelId,
      inputHash,
      outputHash,
      node: f.node.address,
      client: f.client.address,
      fee: FEE,
      issuedAt: 1n,
      mode: 1,
    }
  }
  const receipts = [
    await receipt(0, tensorsHash(inputs), outputOf(claimed)),
    await receipt(1, tensorsHash(other), outputOf(runQuantized(model, other, { trace: true }).trace!)),
  ]
  const tree = buildBatchTree(
    receipts.map((r) => hashReceipt(r, domain)),
    NO_DECOYS_COMMIT,
  )
  await f.node.write({
    ...settlement,
    functionName: 'commitBatch',
    args: [tree.root, 2, 2n * FEE, commits + 1, 'http://node/batch'],
  })
  const batchId = await f.contracts.settlement.read.batchCount()
  const { gasUsed } = await f.challenger.write({
    ...settlement,
    functionName: 'challenge',
    args: [batchId, receipts[0]!, 0, tree.proof(0)],
  })
  return { gameId: await f.contracts.settlement.read.challengeCount(), batchId, receipts, requests, index: 0, challengeGas: gasUsed }
}
