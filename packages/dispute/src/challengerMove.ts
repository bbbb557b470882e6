import { GamePhase, isSumOp, oneStepProofCase, partialSums, sumReads } from '@verity/contracts'
import { CHUNK_BYTES, fromHex } from '@verity/runtime'
import type { Hex } from 'viem'
import type { GameHistory, GameMove, GameState } from './gameState.js'
import type { TraceView } from './traceView.js'

/**
 * The honest challenger's next move, from the honest trace of the disputed run: at each reveal,
 * dispute the left child if it differs from the honest one, else the right; name the op reached;
 * at the chunk, point at the first value that differs (or at dirty padding) and prove it with
 * every value the op reads, opened against the node's trace and the weights — or, for a fold of at
 * least `foldFrom` steps (default SUM_BISECTION_MIN_TERMS), bisect its partial states first.
 * Undefined when it is not the challenger's turn. Pure.
 *
 * Everything left of the disputed leaf was agreed, so each input leaf's proof is built from the
 * honest tree, with the siblings the node revealed on the disputed path (`history.traceNodes`).
 */
export function challengerMove(
  game: GameState,
  honest: TraceView,
  history: GameHistory,
  options: { foldFrom?: number } = {},
): GameMove | undefined {
  switch (game.phase) {
    case GamePhase.choose: {
      const level = game.level as 1 | 2
      const left = honest.node(level, game.height - 1, 2 * game.index, game.opLeaf)
      return { functionName: 'choose', args: [game.left.toLowerCase() === left.toLowerCase()] }
    }
    case GamePhase.selectOp:
      return selectOpMove(game, honest)
    case GamePhase.awaitStep: {
      if (!history.chunk) return undefined
      const claimed = fromHex(history.chunk)
      const truth = honest.chunk(game.opLeaf, game.index)
      const element = disputedElement(game, claimed, truth)
      const op = game.opLeaf - game.inputCount
      const outIndex = game.index * (CHUNK_BYTES / game.outWidth) + element
      // A wide dot product is bisected term by term rather than recomputed whole.
      if (
        outIndex < game.outElements &&
        isSumOp(honest.model, op) &&
        termCount(honest, op) >= (options.foldFrom ?? SUM_BISECTION_MIN_TERMS)
      ) {
        return { functionName: 'disputeSum', args: [honest.graph.ops[op], history.chunk, element] }
      }
      return stepMove(game, honest, history, element)
    }
    case GamePhase.sumChoose: {
      const acc = partialSums(honest.model, honest.trace, game.opLeaf - game.inputCount, game.outIndex)
      return { functionName: 'chooseSum', args: [game.accMid === acc[Math.floor((game.sumLo + game.sumHi) / 2)]] }
    }
    case GamePhase.awaitTerm:
      return termMove(game, honest, history)
    default:
      return undefined
  }
}

/** Folds (dot products, softmax) of at least this many steps are bisected step by step (level 3). */
export const SUM_BISECTION_MIN_TERMS = 32

function termCount(view: TraceView, op: number): number {
  return partialSums(view.model, view.trace, op, 0).length - 1
}

/** `proveTerm` for the term the sum bisection reached: its reads opened against the node's trace and the weights. */
export function termMove(game: GameState, honest: TraceView, history: GameHistory): GameMove {
  const opIndex = game.opLeaf - game.inputCount
  const op = honest.graph.ops[opIndex]!
  const reads = sumReads(honest.model, honest.trace, opIndex, game.outIndex, game.sumLo, game.accLo)
  return { functionName: 'proveTerm', args: [{ op, inputProofs: inputProofs(game, honest, history, opIndex), reads }] }
}

/** `selectOp` for the leaf the game reached: the op's description and its proof in the op tree. */
export function selectOpMove(game: GameState, view: TraceView): GameMove {
  const op = game.index - game.inputCount
  return { functionName: 'selectOp', args: [view.graph.ops[op], view.graph.opsTree.proof(op)] }
}

/** The first element of the chunk whose bytes differ (a padding element if only padding differs; 0 if none). */
export function disputedElement(game: GameState, claimed: Uint8Array, truth: Uint8Array): number {
  const width = game.outWidth
  const perChunk = CHUNK_BYTES / width
  for (let e = 0; e < perChunk; e++) {
    for (let b = 0; b < width; b++) if (claimed[e * width + b] !== truth[e * width + b]) return e
  }
  return 0
}

/**
 * `prove` for element `element` of the revealed chunk: the op, the chunk, and — unless the element
 * lies past the tensor's end — every read opened from the honest trace and weights.
 */
export function stepMove(game: GameState, honest: TraceView, history: GameHistory, element: number): GameMove {
  const opIndex = game.opLeaf - game.inputCount
  const op = honest.graph.ops[opIndex]!
  const perChunk = CHUNK_BYTES / game.outWidth
  const outIndex = game.index * perChunk + element
  const empty = { inputs: [], tape: [], openingOf: [], openings: [] }
  const base = { op, chunk: history.chunk!, element }
  if (outIndex >= game.outElements) return { functionName: 'prove', args: [{ ...base, inputProofs: [], reads: empty }] }
  const c = oneStepProofCase(honest.model, honest.trace, opIndex, outIndex)
  const reads = {
    inputs: c.inputs,
    tape: c.tape,
    openingOf: c.openingOf,
    openings: c.openings,
  }
  return { functionName: 'prove', args: [{ ...base, inputProofs: inputProofs(game, honest, history, opIndex), reads }] }
}

/** Proofs of each input of op `opIndex`: constants in the weights tree, activations in the node's trace tree. */
function inputProofs(game: GameState, honest: TraceView, history: GameHistory, opIndex: number): Hex[][] {
  return honest.graph.ops[opIndex]!.inputs.map((ref) =>
    ref.isConst ? honest.constProof(ref.leaf) : proofAgainstNodeTrace(game, honest, history, ref.leaf),
  )
}

/** Siblings of an agreed leaf in the node's trace tree: revealed nodes where known, else honest ones. */
function proofAgainstNodeTrace(game: GameState, honest: TraceView, history: GameHistory, leaf: number): Hex[] {
  const siblings: Hex[] = []
  let depth = 0
  while (1 << depth < game.leafCount) depth++
  for (let height = 0, i = leaf; height < depth; height++, i >>= 1) {
    const sibling = i ^ 1
    siblings.push(history.traceNodes.get(`${height}:${sibling}`) ?? honest.node(1, height, sibling))
  }
  return siblings
}
