import type { AddressBook, Chain, TxSender } from '@verity/chain'
import { inputsFromWire } from '@verity/contracts'
import { createGameResponder, type GameResponder, type GameState, traceView } from '@verity/dispute'
import { type LoadedModel, runQuantized, type Trace, tensorsHash } from '@verity/runtime'
import type { ModelLoader } from '@verity/sdk'
import type { ReceiptStore } from './receiptStore.js'

/** What a node's dispute defender works with: the node's chain access, key, store and models. */
export type DefenseContext = {
  chain: Chain
  book: AddressBook
  sender: TxSender
  store: ReceiptStore
  models: ModelLoader
  log?(line: string): void
  onResolved?(gameId: bigint, game: GameState): void
}

/** The run a node defends in a game about `inputs`: its trace, or undefined to decline. */
export type Replay = (model: LoadedModel, inputs: Int16Array[], game: GameState) => Trace | undefined

/** An honest node's replay: the stored input through the model, as it ran it when it answered. */
export const honestReplay: Replay = (model, inputs) => runQuantized(model, inputs, { trace: true }).trace

/**
 * The inference node's side of dispute games: for each game against it, the node replays the run
 * it answered — the stored input through the model — and defends that trace when its output is the
 * one the receipt claims (otherwise it has nothing true to defend and declines).
 */
export function createDefense(context: DefenseContext & { replay?: Replay }): GameResponder {
  const { store, models } = context
  const replay = context.replay ?? honestReplay
  const log = context.log ?? (() => {})
  return createGameResponder({
    chain: context.chain,
    book: context.book,
    sender: context.sender,
    side: 'node',
    log,
    decoySecretFor: (game) => store.decoySecretOf(game.outputHash),
    ...(context.onResolved ? { onResolved: context.onResolved } : {}),
    async viewFor(game, gameId) {
      const body = store.getInput(game.inputHash)
      if (body === undefined) return undefined
      const model = await models.load(game.modelId)
      const trace = replay(model, inputsFromWire(model, JSON.parse(body)), game)
      if (!trace) return undefined
      const outputHash = tensorsHash(model.model.outputs.map((id) => trace.tensors.get(id)!))
      if (outputHash !== game.outputHash) {
        log(`game ${gameId}: the replay gives output ${outputHash}, the receipt claims ${game.outputHash}; not defending`)
        return undefined
      }
      return traceView(model, trace)
    },
  })
}
