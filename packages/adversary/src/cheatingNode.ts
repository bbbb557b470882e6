import { createInferenceNode, type InferenceNode, type InferenceNodeOptions } from '@verity/node'
import { corruptingExecutor } from './corruptingExecutor.js'
import type { Fault } from './fault.js'
import { lyingDefender } from './lyingDefender.js'

/**
 * A cheating inference node (tests and demos only): the honest node's parts — API, receipts, batcher,
 * chain watcher, settlement — composed with an executor that lies on a share of its answers and a
 * dispute defender that replays its lies (or, `silent`, never plays). It signs, commits and is
 * slashed like any node; verifiers see nothing but its receipts.
 *
 * @example
 * const node = createCheatingNode({ chain, book, key, dbPath, hubUrl }, { kind: 'deep-value', rate: 0.05, seed: 1 })
 */
export function createCheatingNode(options: InferenceNodeOptions, fault: Fault): InferenceNode {
  options.log?.(`WARNING: this node is deliberately faulty (${fault.kind} ${fault.rate}); for tests and demos only`)
  return createInferenceNode(options, { executor: corruptingExecutor(fault), defender: lyingDefender(fault) })
}
