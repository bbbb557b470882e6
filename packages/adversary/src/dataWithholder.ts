import { followEvents, memoryCursor } from '@verity/chain'
import { settlementAbi } from '@verity/contracts'
import {
  createInferenceNode,
  type DataResponderContext,
  dataResponseOf,
  type InferenceNode,
  type InferenceNodeOptions,
  type ReceiptStore,
  respondToDataChallenges,
  sampledReceipts,
} from '@verity/node'
import { corruptingExecutor } from './corruptingExecutor.js'
import type { Fault } from './fault.js'
import { lyingDefender } from './lyingDefender.js'
import { type AdversaryFront, startAdversaryFront } from './startAdversaryFront.js'

/**
 * How a data withholder plays: it answers a wrong output on a fraction `rate` of its requests (as
 * `wrong-output`); `sampleRate` is the verifiers' fixed rate when they run with one (else it computes
 * the adaptive rate, as they do); `publishOnChallenge` answers the on-chain data challenge as late as it
 * can count on (`publishAtTheLastMoment`) instead of letting it expire, hoping to land after the challenge
 * window, when the published input can no longer lead to an execution challenge.
 */
export type DataWithholding = { rate: number; seed?: number; sampleRate?: number; publishOnChallenge?: boolean; wholeBatch?: boolean }

/**
 * Issue 13's data withholder (tests and demos only), as a hostile node would run it: it cheats on a
 * share of its answers and, once a batch's commit is mined — the sampling seed is then public —
 * computes with the verifiers' own selection rule (`sampledReceipts`) which of its cheats will be
 * re-executed, and withholds exactly their inputs: its front answers 404 on `GET /v1/data/:hash`
 * for them, and it does not answer their data challenges on-chain (unless `publishOnChallenge`).
 * Everything else is served honestly.
 *
 * With `wholeBatch` (`batch-withholder`) it withholds more: its front answers 404 on every batch
 * (`GET /v1/batches/:root`) and every inclusion proof, so no challenge naming a receipt can be
 * opened, and on the inputs of all its cheats; on-chain it answers every data and availability
 * challenge of an honest receipt (to keep its stake) and none of a cheat.
 *
 * @example
 * const { node, front } = await startDataWithholder(nodeOptions, { rate: 0.5, sampleRate: 1 })
 */
export async function startDataWithholder(
  options: Omit<InferenceNodeOptions, 'publicUrl'>,
  spec: DataWithholding,
): Promise<{ node: InferenceNode; front: AdversaryFront }> {
  const fault: Fault = { kind: 'flip-output', rate: spec.rate, seed: spec.seed ?? 1 }
  const lies = new Set<string>()
  const decisions = new Map<string, Promise<boolean>>()
  let node: InferenceNode | undefined
  const front = await startAdversaryFront('data-withholder', {
    withholdsBatches: spec.wholeBatch === true,
    withholds(inputHash) {
      if (!lies.has(inputHash) || !node) return Promise.resolve(false)
      if (spec.wholeBatch) return Promise.resolve(true)
      let decision = decisions.get(inputHash)
      if (!decision) {
        decision = willBeSampled(node, inputHash).catch(() => false)
        decisions.set(inputHash, decision)
      }
      return decision
    },
  })

  /** Whether the verifiers will re-execute the receipt of `inputHash`, by the public rule, once its batch is committed. */
  async function willBeSampled(node: InferenceNode, inputHash: string): Promise<boolean> {
    const found = await committedBatchOf(node.store, inputHash)
    if (!found) return false
    const { batch, index, modes } = found
    const block = await options.chain.publicClient.getBlock({ blockNumber: BigInt(batch.commitBlock!) })
    const sampled = await sampledReceipts({
      chain: options.chain,
      book: options.book,
      batchId: batch.batchId!,
      node: node.address,
      blockHash: block.hash,
      blockNumber: block.number,
      modes,
      ...(spec.sampleRate === undefined ? {} : { sampleRate: spec.sampleRate }),
    })
    return [...sampled.values()].some((picked) => picked.includes(index))
  }

  options.log?.(
    `WARNING: this node is deliberately faulty (${spec.wholeBatch ? 'batch-withholder' : 'data-withholder'} ${spec.rate}${spec.publishOnChallenge ? ', publishes when challenged' : ''}); for tests and demos only`,
  )
  node = createInferenceNode(
    { ...options, publicUrl: front.url },
    {
      executor: corruptingExecutor(fault, (inputHash) => lies.add(inputHash.toLowerCase())),
      defender: lyingDefender(fault),
      dataResponder: spec.publishOnChallenge
        ? publishAtTheLastMoment
        : spec.wholeBatch
          ? // The honest responder, blind to its cheats' inputs: it answers for every receipt but those.
            (context) =>
              respondToDataChallenges({
                ...context,
                store: new Proxy(context.store, {
                  get(target, key) {
                    if (key === 'getInput')
                      return (hash: string) => (lies.has(hash.toLowerCase()) ? undefined : target.getInput(hash as never))
                    const value = Reflect.get(target, key)
                    return typeof value === 'function' ? value.bind(target) : value
                  },
                }),
              })
          : () => undefined,
    },
  )
  return { node, front }
}

/**
 * The committed batch holding the receipt of `inputHash`, its position and the batch's modes. A
 * verifier asks for an input only once the batch is committed; the node may record its own commit a
 * moment later than a fast verifier sees it, so a batch still being committed is waited for (5 s).
 */
async function committedBatchOf(store: ReceiptStore, inputHash: string) {
  const until = Date.now() + 5000
  for (;;) {
    for (const status of ['committed', 'challenged', 'pending'] as const) {
      for (const batch of store.batchesWithStatus(status)) {
        const inferences = store.batchInferences(batch.localId)
        const index = inferences.findIndex((i) => i.inputHash.toLowerCase() === inputHash && i.decoySecret === null)
        if (index < 0) continue
        if (batch.batchId !== null && batch.commitBlock !== null) return { batch, index, modes: inferences.map((i) => i.mode) }
      }
    }
    if (Date.now() > until) return undefined
    await new Promise((r) => setTimeout(r, 50))
  }
}

/**
 * A data responder that answers each data challenge against its receipts at the last moment it can
 * count on: before the response deadline by 40 % of the response time, at least 1 s and at most 10 s
 * (the time its transaction takes to be mined; on the chain's clock, which the devnet's chain keeps
 * with the wall clock).
 */
function publishAtTheLastMoment(context: DataResponderContext): { stop(): Promise<void> } {
  const timers = new Set<NodeJS.Timeout>()
  const margin = Math.min(10_000, Math.max(1000, context.book.params.dataResponseTime * 400))
  const publish = async (challengeId: bigint, batchId: bigint, receiptIndex: number) => {
    const batch = context.store.batchById(Number(batchId))
    const inference = batch && context.store.batchInferences(batch.localId)[receiptIndex]
    const body = inference && context.store.getInput(inference.inputHash)
    if (!inference || body === undefined) return
    const response = dataResponseOf(inference, body, await context.model(inference.modelId))
    await context.sender.write({
      address: context.book.contracts.settlement,
      abi: settlementAbi,
      functionName: 'publishData',
      args: [challengeId, response.receipt, response.request, response.clientSignature, response.inputs],
    })
    context.log(`data challenge ${challengeId}: published receipt ${receiptIndex}'s data at the last moment`)
  }
  const follower = followEvents({
    chain: context.chain,
    abi: settlementAbi,
    address: context.book.contracts.settlement,
    fromBlock: context.book.deployedAtBlock,
    pollIntervalMs: 100,
    cursor: memoryCursor(),
    onLogs(logs) {
      for (const event of logs) {
        if (event.eventName !== 'DataChallenged') continue
        const { challengeId, batchId, receiptIndex, deadline } = event.args
        const timer = setTimeout(
          () => {
            timers.delete(timer)
            publish(challengeId, batchId, receiptIndex).catch((error: unknown) =>
              context.log(`data challenge ${challengeId}: ${(error as Error).message?.split('\n')[0]}`),
            )
          },
          Math.max(0, Number(deadline) * 1000 - margin - Date.now()),
        )
        timers.add(timer)
      }
    },
  })
  return {
    async stop() {
      for (const timer of timers) clearTimeout(timer)
      await follower.stop()
    },
  }
}
