import type { GameResponder } from '@verity/dispute'
import { createDefense, type DefenseContext, honestReplay, type ReceiptStore, type Replay } from '@verity/node'
import { rawFromWire } from '@verity/protocol'
import { commitTrace, runQuantized, type Trace, tensorsHash } from '@verity/runtime'
import { deepValueTamper } from './deepValueTamper.js'
import type { Fault } from './fault.js'

/**
 * The dispute defender of a node cheating with `fault`: the honest defender, replaying what the node
 * actually answered. A receipt it answered honestly gets the honest trace; a `deep-value` lie gets the
 * same corrupted run again; a `flip-output` lie gets the honest run with the outputs it answered on
 * top (what it signed, lost at the last op). A `silent` node never plays.
 *
 * @example
 * const node = createInferenceNode(options, { executor: corruptingExecutor(fault), defender: lyingDefender(fault) })
 */
export function lyingDefender(fault: Fault): (context: DefenseContext) => GameResponder {
  return (context) => createDefense({ ...context, replay: lyingReplay(fault, context.store) })
}

/**
 * The run a node cheating with `fault` replays for a game: the honest trace when it answered
 * honestly, the same corrupted run for a `deep-value` lie, the honest run with the outputs it stored
 * on top for a `flip-output` lie; none for a `silent` node.
 */
export function lyingReplay(fault: Fault, store: ReceiptStore): Replay {
  return (model, inputs, game) => {
    if (fault.kind === 'silent') return undefined
    const honest = honestReplay(model, inputs, game)!
    const answered = (trace: Trace) => tensorsHash(model.model.outputs.map((id) => trace.tensors.get(id)!)) === game.outputHash
    if (answered(honest)) return honest
    if (fault.kind === 'deep-value') {
      const replayed = runQuantized(model, inputs, { trace: true, tamper: deepValueTamper(model, game.inputHash) }).trace!
      if (answered(replayed)) return replayed
    }
    // The outputs the node answered, on top of its honest run.
    const stored = store.outputsOf(game.inputHash, game.outputHash)
    if (stored === undefined) return undefined
    const outputs = Object.values(JSON.parse(stored) as Record<string, { raw: unknown }>)
    const tensors = new Map(honest.tensors)
    for (const [i, id] of model.model.outputs.entries()) tensors.set(id, rawFromWire(outputs[i]!.raw))
    return commitTrace(model, tensors)
  }
}
