import {
  disputeGameAbi,
  disputeGameBytecode,
  MAX_DISPUTE_TURNS,
  modelRegistryAbi,
  modelRegistryBytecode,
  nodeRegistryAbi,
  nodeRegistryBytecode,
  oneStepVerifierAbi,
  oneStepVerifierBytecode,
  settlementAbi,
  settlementBytecode,
  tensorHasherAbi,
  tensorHasherBytecode,
  verityTokenAbi,
  verityTokenBytecode,
} from '@verity/contracts'
import { type Abi, type Account, type Address, type Hex, keccak256, toBytes } from 'viem'
import type { AddressBook, DeploymentParams } from './addressBook.js'
import { type Chain, toAccount } from './chain.js'
import { DERIVED_DEFAULTS, derivedDeploymentParams } from './derivedDefaults.js'
import { InvalidDeploymentParamsError } from './errors.js'
import { TxSender } from './txSender.js'

const TOKEN = 10n ** 18n

/** The fee per inference the derived defaults are priced at: the reference node's default price (0.001 VRT). */
export const REFERENCE_FEE = TOKEN / 1000n

const derived = derivedDeploymentParams(REFERENCE_FEE)

/**
 * Production-shaped defaults: a one-hour window, half an hour per side of a dispute with at least 15 s
 * a turn (every game decided within 6,465 s, under the 7,200 s dispute limit), stake locked three days,
 * escrow withdrawals announced four hours ahead (past the window and the longest dispute, so every
 * answered request can be redeemed), ten minutes to publish challenged data. The economic amounts —
 * slash per open receipt, attester slash, challenge bond, verifier share, bounty, decoy rate and
 * reward — are the derived defaults (`DERIVED_DEFAULTS`, docs/economics.md) at `REFERENCE_FEE`.
 */
export const DEFAULT_DEPLOYMENT_PARAMS: DeploymentParams = {
  challengeWindow: derived.params.challengeWindow,
  maxDisputeDuration: 7200,
  unbondingDelay: 3 * 86_400,
  escrowWithdrawalDelay: 4 * 3600,
  minInferenceStake: 1000n * TOKEN,
  minVerifierStake: 100n * TOKEN,
  verifierShareBps: derived.params.verifierShareBps,
  challengeBond: derived.params.challengeBond,
  dataChallengeBond: derived.params.dataChallengeBond,
  disputeClock: 1800,
  minMoveTime: 15,
  slashAmount: derived.params.slashAmount,
  bountyBps: derived.params.bountyBps,
  dataResponseTime: derived.params.dataResponseTime,
  attesterSlash: derived.params.attesterSlash,
  decoyRateBps: derived.decoyRateBps,
  decoyReward: derived.decoyReward,
  minSampleRateBps: 0,
}

/**
 * Dispute clocks that fit a dispute limit: a quarter of it spread over the turns as the per-turn
 * minimum, the rest split between the two sides' clocks.
 */
export function disputeClocksFor(maxDisputeDuration: number): { disputeClock: number; minMoveTime: number } {
  const minMoveTime = Math.floor(maxDisputeDuration / (4 * MAX_DISPUTE_TURNS))
  return { minMoveTime, disputeClock: Math.floor((maxDisputeDuration - MAX_DISPUTE_TURNS * minMoveTime) / 2) }
}

/** Rejects parameters the contracts would refuse, before anything is sent. */
export function checkDeploymentParams(params: DeploymentParams): void {
  const required = params.challengeWindow + params.maxDisputeDuration
  if (params.unbondingDelay <= required) {
    throw new InvalidDeploymentParamsError(
      `the unbonding delay must exceed the challenge window plus the longest dispute (${params.challengeWindow} + ${params.maxDisputeDuration} = ${required} s), found ${params.unbondingDelay} s`,
      { unbondingDelay: params.unbondingDelay, challengeWindow: params.challengeWindow, maxDisputeDuration: params.maxDisputeDuration },
    )
  }
  const longestGame = 2 * params.disputeClock + MAX_DISPUTE_TURNS * params.minMoveTime
  if (longestGame > params.maxDisputeDuration) {
    throw new InvalidDeploymentParamsError(
      `a dispute game must be decided within the longest dispute: 2 × clock + ${MAX_DISPUTE_TURNS} turns × minMoveTime = ${longestGame} s, found maxDisputeDuration ${params.maxDisputeDuration} s`,
      { disputeClock: params.disputeClock, minMoveTime: params.minMoveTime, maxDisputeDuration: params.maxDisputeDuration },
    )
  }
  if (params.escrowWithdrawalDelay <= required) {
    throw new InvalidDeploymentParamsError(
      `the escrow withdrawal delay must exceed the challenge window plus the longest dispute (${required} s), so every answered request can be redeemed; found ${params.escrowWithdrawalDelay} s`,
      {
        escrowWithdrawalDelay: params.escrowWithdrawalDelay,
        challengeWindow: params.challengeWindow,
        maxDisputeDuration: params.maxDisputeDuration,
      },
    )
  }
  if (!Number.isInteger(params.minSampleRateBps) || params.minSampleRateBps < 0 || params.minSampleRateBps > 10_000) {
    throw new InvalidDeploymentParamsError(
      `the sampling-rate floor is in basis points, an integer from 0 to 10000, found ${params.minSampleRateBps}`,
      { minSampleRateBps: params.minSampleRateBps },
    )
  }
  if (params.dataResponseTime >= params.maxDisputeDuration) {
    throw new InvalidDeploymentParamsError(
      `the data response time must be under the longest dispute (${params.maxDisputeDuration} s), found ${params.dataResponseTime} s`,
      { dataResponseTime: params.dataResponseTime, maxDisputeDuration: params.maxDisputeDuration },
    )
  }
  if (params.dataResponseTime >= params.challengeWindow) {
    throw new InvalidDeploymentParamsError(
      `the data response time must be under the challenge window (${params.challengeWindow} s), so a data challenge is answered inside it; found ${params.dataResponseTime} s`,
      { dataResponseTime: params.dataResponseTime, challengeWindow: params.challengeWindow },
    )
  }
  if (params.slashAmount === 0n) throw new InvalidDeploymentParamsError('the slash per receipt must be positive', { slashAmount: 0n })
  if (params.bountyBps > 10_000) {
    throw new InvalidDeploymentParamsError(`the bounty share is in basis points (0…10000), found ${params.bountyBps}`, {
      bountyBps: params.bountyBps,
    })
  }
  if (params.verifierShareBps > 10_000) {
    throw new InvalidDeploymentParamsError(`the verifier share is in basis points (0…10000), found ${params.verifierShareBps}`, {
      verifierShareBps: params.verifierShareBps,
    })
  }
  if (params.minInferenceStake === 0n || params.minVerifierStake === 0n) {
    throw new InvalidDeploymentParamsError('minimum stakes must be positive', {
      minInferenceStake: params.minInferenceStake,
      minVerifierStake: params.minVerifierStake,
    })
  }
}

export type DeployVerityParameters = {
  chain: Chain
  deployer: Account | Hex
  params?: Partial<DeploymentParams>
  /** Use an existing ERC-20 instead of deploying VerityToken. */
  token?: Address
  /** Supply minted to the deployer when VerityToken is deployed (default 1e9 tokens). */
  tokenSupply?: bigint
}

/**
 * Deploys the whole contract set (VerityToken unless `token` is given, ModelRegistry,
 * NodeRegistry, Settlement, OneStepVerifier, DisputeGame), grants Settlement the slasher role, binds
 * the game to Settlement, and returns the address book.
 *
 * @example
 * const book = await deployVerity({ chain, deployer: chain.accounts[0].privateKey, params: { challengeWindow: 30 } })
 */
export async function deployVerity(parameters: DeployVerityParameters): Promise<AddressBook> {
  const { chain } = parameters
  const deployer = toAccount(parameters.deployer)
  const given = parameters.params ?? {}
  // A dispute limit without clocks gets clocks that fit it.
  const clocks =
    given.maxDisputeDuration !== undefined && given.disputeClock === undefined ? disputeClocksFor(given.maxDisputeDuration) : {}
  // Delays that must fit a given window and dispute limit are fitted to them when not given.
  const limit =
    (given.challengeWindow ?? DEFAULT_DEPLOYMENT_PARAMS.challengeWindow) +
    (given.maxDisputeDuration ?? DEFAULT_DEPLOYMENT_PARAMS.maxDisputeDuration)
  const fitted = {
    // A data challenge must be answerable inside the window: at most half of it.
    ...(given.dataResponseTime === undefined && (given.maxDisputeDuration !== undefined || given.challengeWindow !== undefined)
      ? {
          dataResponseTime: Math.min(
            DEFAULT_DEPLOYMENT_PARAMS.dataResponseTime,
            Math.max(1, Math.floor((given.maxDisputeDuration ?? DEFAULT_DEPLOYMENT_PARAMS.maxDisputeDuration) / 4)),
            Math.max(1, Math.floor((given.challengeWindow ?? DEFAULT_DEPLOYMENT_PARAMS.challengeWindow) / 2)),
          ),
        }
      : {}),
    ...(given.escrowWithdrawalDelay === undefined
      ? { escrowWithdrawalDelay: Math.max(DEFAULT_DEPLOYMENT_PARAMS.escrowWithdrawalDelay, limit + 3600) }
      : {}),
  }
  const params: DeploymentParams = { ...DEFAULT_DEPLOYMENT_PARAMS, ...clocks, ...fitted, ...given }
  checkDeploymentParams(params)
  const wallet = chain.walletClient(deployer)
  const startBlock = await chain.publicClient.getBlockNumber()

  const deploy = async (abi: Abi, bytecode: Hex, args: readonly unknown[]): Promise<Address> => {
    const hash = await wallet.deployContract({ abi, bytecode, args } as never)
    const receipt = await chain.publicClient.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success' || !receipt.contractAddress) throw new Error(`deployment transaction ${hash} failed`)
    return receipt.contractAddress
  }

  const token =
    parameters.token ?? (await deploy(verityTokenAbi, verityTokenBytecode, [deployer.address, parameters.tokenSupply ?? 10n ** 9n * TOKEN]))
  const modelRegistry = await deploy(modelRegistryAbi, modelRegistryBytecode, [])
  const nodeRegistry = await deploy(nodeRegistryAbi, nodeRegistryBytecode, [
    token,
    BigInt(params.unbondingDelay),
    params.minInferenceStake,
    params.minVerifierStake,
    deployer.address,
  ])
  const tensorHasher = await deploy(tensorHasherAbi, tensorHasherBytecode, [])
  const settlement = await deploy(settlementAbi, settlementBytecode, [
    token,
    nodeRegistry,
    tensorHasher,
    {
      challengeWindow: BigInt(params.challengeWindow),
      maxDisputeDuration: BigInt(params.maxDisputeDuration),
      escrowWithdrawalDelay: BigInt(params.escrowWithdrawalDelay),
      dataResponseTime: BigInt(params.dataResponseTime),
      verifierShareBps: params.verifierShareBps,
      bountyBps: params.bountyBps,
      challengeBond: params.challengeBond,
      receiptSlash: params.slashAmount,
      attesterSlash: params.attesterSlash,
      decoyRateBps: params.decoyRateBps,
      decoyReward: params.decoyReward,
      dataChallengeBond: params.dataChallengeBond,
      minSampleRateBps: params.minSampleRateBps,
      baseRateBps: DERIVED_DEFAULTS.baseRateBps,
      newNodeRateBps: DERIVED_DEFAULTS.newNodeRateBps,
      maturityCommits: DERIVED_DEFAULTS.maturityCommits,
      overturnedRateBps: DERIVED_DEFAULTS.overturnedRateBps,
      maxRateBps: DERIVED_DEFAULTS.maxRateBps,
    },
  ])
  const oneStepVerifier = await deploy(oneStepVerifierAbi, oneStepVerifierBytecode, [])
  const disputeGame = await deploy(disputeGameAbi, disputeGameBytecode, [
    settlement,
    modelRegistry,
    oneStepVerifier,
    params.disputeClock,
    params.minMoveTime,
    params.slashAmount,
    params.bountyBps,
  ])
  const sender = new TxSender({ chain, account: deployer })
  await sender.write({
    address: nodeRegistry,
    abi: nodeRegistryAbi,
    functionName: 'grantRole',
    args: [keccak256(toBytes('SLASHER_ROLE')), settlement],
  })
  await sender.write({ address: settlement, abi: settlementAbi, functionName: 'bindDisputeGame', args: [disputeGame] })
  return {
    version: 1,
    chainId: chain.chainId,
    deployedAtBlock: startBlock + 1n,
    contracts: { token, modelRegistry, nodeRegistry, tensorHasher, settlement, oneStepVerifier, disputeGame },
    params,
  }
}
