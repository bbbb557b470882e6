import { type AddressBook, type Chain, ContractRevertError, type EventFollower, followEvents, type TxSender } from '@verity/chain'
import { settlementAbi } from '@verity/contracts'
import { type InferenceRequest, inputsFromWire, type Receipt, receiptFromWire, requestFromWire } from '@verity/protocol'
import { type LoadedModel, tensorBytes } from '@verity/runtime'
import { type Hex, toHex } from 'viem'
import { batchTreeOf } from './batcher.js'
import type { ReceiptStore, StoredInference } from './receiptStore.js'

/** `Settlement.ChallengeKind.Availability`: a challenge naming only (batch, index). */
const AVAILABILITY = 2

/** What `Settlement.publishData` takes besides the challenge id. */
export type DataResponse = { receipt: Receipt; request: InferenceRequest; clientSignature: Hex; inputs: Hex[] }

/**
 * Pure: the node's answer to a data challenge on one of its receipts — the receipt, the request its
 * client signed, that signature, and the input tensors' canonical bytes in the model's input order.
 */
export function dataResponseOf(inference: StoredInference, inputBody: string, model: LoadedModel): DataResponse {
  return {
    receipt: receiptFromWire(JSON.parse(inference.receiptJson)),
    request: requestFromWire(JSON.parse(inference.requestJson)),
    clientSignature: inference.clientSignature,
    inputs: inputsFromWire(model, JSON.parse(inputBody)).map((tensor) => toHex(tensorBytes(tensor))),
  }
}

/** What a node's data responder works with: its chain, store and sender, its models, its log. */
export type DataResponderContext = {
  chain: Chain
  book: AddressBook
  store: ReceiptStore
  sender: TxSender
  model(modelId: Hex): Promise<LoadedModel>
  log(line: string): void
  onPublished?(gasUsed: bigint): void
}

/**
 * Answers every data challenge against this node's receipts (docs/protocol.md, "Life of a batch"):
 * follows `DataChallenged` events with a resumable cursor in the node's database and publishes the
 * receipt's request, client signature and input on-chain before `dataResponseTime` runs out
 * (`publishData`; for an availability challenge, which names only the position, `publishReceipt`
 * with the leaf and its proof too), and proves every receipt a client asks about by
 * `challengeInclusion` (`proveInclusion`, once its batch is committed), so an honest node never
 * loses a receipt, nor stake, to a challenge of its data.
 */
export function respondToDataChallenges(parameters: DataResponderContext): EventFollower {
  const { chain, book, store, sender, log } = parameters
  /** Proves a receipt a client asked about committed; waits (the handler throws, the range repeats) until its batch is. */
  async function proveInclusion(challengeId: bigint, id: Hex): Promise<void> {
    const inference = store.getInference(id)
    if (!inference) {
      log(`inclusion challenge ${challengeId}: receipt ${id} is not in this node's store`)
      return
    }
    const batch = inference.batchLocal === null ? undefined : store.batchByLocal(inference.batchLocal)
    if (!batch || batch.batchId === null) throw new Error(`inclusion challenge ${challengeId}: receipt ${id} is not committed yet`)
    try {
      const result = await sender.write({
        address: book.contracts.settlement,
        abi: settlementAbi,
        functionName: 'proveInclusion',
        args: [challengeId, BigInt(batch.batchId), inference.batchIndex!, batchTreeOf(store, batch).proof(inference.batchIndex!)],
      })
      parameters.onPublished?.(result.gasUsed)
      log(`inclusion challenge ${challengeId}: proved receipt ${id} in batch ${batch.batchId}, ${result.gasUsed} gas`)
    } catch (error) {
      if (error instanceof ContractRevertError && ['ChallengeNotOpen', 'ResponseDeadlinePassed'].includes(error.errorName)) {
        log(`inclusion challenge ${challengeId}: ${error.errorName}`)
      } else throw error
    }
  }

  return followEvents({
    chain,
    abi: settlementAbi,
    address: book.contracts.settlement,
    fromBlock: book.deployedAtBlock,
    pollIntervalMs: chain.kind === 'embedded' ? 100 : 1000,
    cursor: {
      load: () => ((v) => (v === undefined ? undefined : BigInt(v)))(store.getMeta('data_challenge_cursor')),
      save: (block) => store.setMeta('data_challenge_cursor', block.toString()),
    },
    onError: (error) => log(`data responder: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`),
    async onLogs(logs) {
      for (const event of logs) {
        if (event.eventName === 'InclusionChallenged') {
          if (event.args.node.toLowerCase() !== sender.address.toLowerCase()) continue
          await proveInclusion(event.args.challengeId, event.args.receiptDigest)
          continue
        }
        if (event.eventName !== 'DataChallenged') continue
        const batch = store.batchById(Number(event.args.batchId))
        if (!batch) continue
        const inference = store.batchInferences(batch.localId)[event.args.receiptIndex]
        const body = inference && store.getInput(inference.inputHash)
        if (!inference || body === undefined) {
          log(
            `data challenge ${event.args.challengeId}: receipt ${event.args.receiptIndex} of batch ${batch.batchId} is not in this node's store`,
          )
          continue
        }
        const response = dataResponseOf(inference, body, await parameters.model(inference.modelId))
        const { kind } = await chain.publicClient.readContract({
          address: book.contracts.settlement,
          abi: settlementAbi,
          functionName: 'getChallenge',
          args: [event.args.challengeId],
        })
        try {
          const result =
            kind === AVAILABILITY
              ? await sender.write({
                  address: book.contracts.settlement,
                  abi: settlementAbi,
                  functionName: 'publishReceipt',
                  args: [
                    event.args.challengeId,
                    response.receipt,
                    batchTreeOf(store, batch).proof(event.args.receiptIndex),
                    response.request,
                    response.clientSignature,
                    response.inputs,
                  ],
                })
              : await sender.write({
                  address: book.contracts.settlement,
                  abi: settlementAbi,
                  functionName: 'publishData',
                  args: [event.args.challengeId, response.receipt, response.request, response.clientSignature, response.inputs],
                })
          parameters.onPublished?.(result.gasUsed)
          log(
            `data challenge ${event.args.challengeId}: published receipt ${event.args.receiptIndex}'s request and input, ${result.gasUsed} gas`,
          )
        } catch (error) {
          // Already answered (a restart) or closed: nothing left to do. Anything else is retried.
          if (error instanceof ContractRevertError && ['ChallengeNotOpen', 'ResponseDeadlinePassed'].includes(error.errorName)) {
            log(`data challenge ${event.args.challengeId}: ${error.errorName}`)
          } else throw error
        }
      }
    },
  })
}
