import type { AddressBook, Chain, TxSender } from '@verity/chain'
import { inputsFromWire } from '@verity/contracts'
import { createGameResponder, type GameResponder, type GameState, traceView } from '@verity/dispute'
import { commitTrace, runQuantized, type Trace, tensorsHash } from '@verity/runtime'
import type { ModelLoader } from '@verity/sdk'
import { deepValueTamper, type Fault } from './fault.js'
import type { ReceiptStore } from './receiptStore.js'

/**
 * The inference node's side of dispute games: for each game against it, the node replays the run
 * it answered — the stored input through the model — and defends the trace whose output is the one
 * its receipt claims. An honest node's replay is that trace; a deliberately faulty node replays its
 * fault (tests and demos), and a `silent` one never plays.
 */
export function createDefense(options: {
  chain: Chain
  book: AddressBook
  sender: TxSender
  store: ReceiptStore
  models: ModelLoader
  fault?: Fault
  log?(line: string): void
  onResolved?(gameId: bigint, game: GameState): void
}): GameResponder {
  const { store, models, fault } = options
  return createGameResponder({
    chain: options.chain,
    book: options.book,
    sender: options.sender,
    side: 'node',
    ...(options.log ? { log: options.log } : {}),
    ...(options.onResolved ? { onResolved: options.onResolved } : {}),
    decoySecretFor: (game) => store.decoySecretOf(game.outputHash),
    async viewFor(game) {
      if (fault?.kind === 'silent') return undefined
      const body = store.getInput(game.inputHash)
      if (body === undefined) return undefined
      const model = await models.load(game.modelId)
      const inputs = inputsFromWire(model, JSON.parse(body))
      const outputHash = (trace: Trace) => tensorsHash(model.model.outputs.map((id) => trace.tensors.get(id)!))
      const honest = runQuantized(model, inputs, { trace: true }).trace!
      if (outputHash(honest) === game.outputHash) return traceView(model, honest)
      if (fault?.kind === 'deep-value') {
        const replay = runQuantized(model, inputs, { trace: true, tamper: deepValueTamper(model, game.inputHash) }).trace!
        if (outputHash(replay) === game.outputHash) return traceView(model, replay)
      }
      // The node answered other outputs than its inputs give: it defends them on top of its run.
      const stored = store.outputsOf(game.inputHash, game.outputHash)
      if (stored === undefined) return undefined
      const answered = Object.values(JSON.parse(stored) as Record<string, { raw: number[] }>)
      const tensors = new Map(honest.tensors)
      for (const [i, id] of model.model.outputs.entries()) tensors.set(id, Int16Array.from(answered[i]!.raw))
      return traceView(model, commitTrace(model, tensors))
    },
  })
}
