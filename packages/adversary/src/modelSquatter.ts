import type { AddressBook, EmbeddedChain } from '@verity/chain'
import { disputeGameAbi, GameReason, identifyModel, type ModelRoots, modelRegistryAbi, nodeRegistryAbi, Role } from '@verity/contracts'
import { loadModel, mnistImage } from '@verity/runtime'
import { InferenceRejectedError, infer, type SdkError } from '@verity/sdk'
import { createPublicClient, createWalletClient, type Hex, http, keccak256, parseEventLogs, toHex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import type { AttackedNetwork } from './attackedNetwork.js'

/** One registration the squatter sent: which root it falsified and the id the registry gave it. */
export type SquatAttempt = { wrongRoot: keyof ModelRoots; namedId: Hex; isHonestId: boolean }

export type ModelSquatterReport = {
  strategy: 'model-squatter'
  honestModelId: Hex
  attempts: SquatAttempt[]
  /** What a client (the SDK's loader: registered URI, roots checked) and an honest node (its own hub only) answered for each squatted id. */
  clientRefusals: string[]
  nodeRefusals: string[]
  /**
   * Stake the honest inference nodes lost during the run to slashes, in wei of VRT (must be 0): every
   * `Slashed` of their stake except the decoy rewards they paid from it when a verifier caught one of
   * their decoys (forced errors, conceded: docs/economics.md), which are in `decoyRewardsFromStake`.
   */
  honestNodesSlashed: string
  decoyRewardsFromStake: string
}

/**
 * The model-id squatter (adversarial devnet): before the honest publisher registers mnist-8, an
 * attacker with its own key and plain viem registers the same artifact with a wrong graphRoot and
 * with a wrong weightsRoot, pointing at the honest artifact's URL — the registrations that used to
 * make honest nodes' dispute moves revert. The registry computes each id from the roots it is given.
 */
export function createModelSquatter() {
  const key = generatePrivateKey()
  let honestModelId: Hex | undefined
  const attempts: SquatAttempt[] = []
  const stakesBefore = new Map<string, bigint>()

  return {
    /** Runs before the honest publication (the devnet's `beforePublish`). */
    async squat(ctx: { chain: EmbeddedChain; book: AddressBook; hubUrl: string; artifact: Uint8Array }): Promise<void> {
      const transport = http(ctx.chain.rpcUrl)
      const reader = createPublicClient({ chain: ctx.chain.viemChain, transport })
      const attacker = createWalletClient({ account: privateKeyToAccount(key), chain: ctx.chain.viemChain, transport })
      // Gas from the devnet's last account, which no role uses.
      const funder = createWalletClient({
        account: privateKeyToAccount(ctx.chain.accounts.at(-1)!.privateKey),
        chain: ctx.chain.viemChain,
        transport,
      })
      await reader.waitForTransactionReceipt({ hash: await funder.sendTransaction({ to: attacker.account.address, value: 10n ** 18n }) })
      const honest = identifyModel(loadModel(ctx.artifact))
      honestModelId = honest.modelId
      for (const wrongRoot of ['graphRoot', 'weightsRoot'] as const) {
        const roots = { ...honest, [wrongRoot]: keccak256(toHex(`squatted ${wrongRoot}`)) }
        const hash = await attacker.writeContract({
          address: ctx.book.contracts.modelRegistry,
          abi: modelRegistryAbi,
          functionName: 'register',
          args: [`${ctx.hubUrl}/v1/models/${honest.modelId}`, roots.artifactHash, roots.weightsRoot, roots.graphRoot, roots.specHash],
        })
        const receipt = await reader.waitForTransactionReceipt({ hash })
        const namedId = parseEventLogs({ abi: modelRegistryAbi, logs: receipt.logs, eventName: 'ModelRegistered' })[0]!.args.modelId
        attempts.push({ wrongRoot, namedId, isHonestId: namedId === honest.modelId })
      }
    },

    /** Records the honest nodes' stakes once the network is up. */
    async started(net: AttackedNetwork): Promise<void> {
      for (const { node } of net.nodes) stakesBefore.set(node.address, await stakeOf(net, node.address))
    },

    /** Once the workload settled: asks for each squatted id as a client and, bypassing the client's check, of an honest node. */
    async report(net: AttackedNetwork): Promise<ModelSquatterReport> {
      const honest = await net.client.model(net.modelId)
      const clientRefusals: string[] = []
      const nodeRefusals: string[] = []
      for (const { namedId } of attempts) {
        const inputs = { Input3: mnistImage(net.mnist, 0) }
        const asClient = await infer(net.client, { modelId: namedId, inputs }).catch((e: SdkError) => e)
        clientRefusals.push(asClient instanceof Error ? (asClient as SdkError).code : 'ANSWERED')
        // A client that skips the check (runs the honest model under the squatted id) reaches the node.
        const bypass = { ...net.client, model: async () => honest }
        const asNode = await infer(bypass, { modelId: namedId, inputs, node: net.nodes[0]!.url }).catch((e: SdkError) => e)
        nodeRefusals.push(
          asNode instanceof InferenceRejectedError ? asNode.nodeCode : asNode instanceof Error ? asNode.message : 'ANSWERED',
        )
      }
      let lost = 0n
      for (const { node } of net.nodes) lost += (stakesBefore.get(node.address) ?? 0n) - (await stakeOf(net, node.address))
      // The stake the nodes lost went in Slashed events; those in a transaction that resolved a game by
      // the node's concession of its decoy paid a decoy reward.
      const honestNodes = new Set(net.nodes.map(({ node }) => node.address.toLowerCase()))
      const slashes = (
        await net.chain.publicClient.getContractEvents({
          address: net.book.contracts.nodeRegistry,
          abi: nodeRegistryAbi,
          eventName: 'Slashed',
          fromBlock: net.book.deployedAtBlock,
          strict: true,
        })
      ).filter((e) => honestNodes.has(e.args.operator.toLowerCase()) && e.args.role === Role.inference)
      let decoyRewards = 0n
      for (const e of slashes) {
        const { logs } = await net.chain.publicClient.getTransactionReceipt({ hash: e.transactionHash })
        const conceded = parseEventLogs({ abi: disputeGameAbi, logs, eventName: 'GameResolved' }).some(
          (g) => g.address.toLowerCase() === net.book.contracts.disputeGame.toLowerCase() && g.args.reason === GameReason.conceded,
        )
        if (conceded) decoyRewards += e.args.amount
      }
      const slashed = lost - decoyRewards
      return {
        strategy: 'model-squatter',
        honestModelId: honestModelId!,
        attempts,
        clientRefusals,
        nodeRefusals,
        honestNodesSlashed: slashed.toString(),
        decoyRewardsFromStake: decoyRewards.toString(),
      }
    },
  }
}

async function stakeOf(net: AttackedNetwork, node: Hex): Promise<bigint> {
  const op = await net.chain.publicClient.readContract({
    address: net.book.contracts.nodeRegistry,
    abi: nodeRegistryAbi,
    functionName: 'getOperator',
    args: [node, Role.inference],
  })
  return op.staked
}
