import { GamePhase, partialSums, sumReads, sumValue } from '@verity/contracts'
import { toHex } from '@verity/runtime'
import type { Hex } from 'viem'
import type { GameMove, GameState } from './gameState.js'
import type { TraceView } from './traceView.js'

/**
 * The node's next move in a game, from its own trace: commit the trace (root, graph header, input
 * and output leaves with proofs), reveal the two children of the disputed node, or reveal the
 * disputed chunk. Undefined when the node has nothing to do. Pure.
 *
 * @example
 * const move = defenderMove(await readGame(chain, book, id), traceView(model, trace))
 */
export function defenderMove(game: GameState, view: TraceView): GameMove | undefined {
  const { header } = view.graph
  const root = (leaf: number) => toHex(view.trace.roots[leaf]!) as Hex
  switch (game.phase) {
    case GamePhase.awaitTrace: {
      const inputs = Array.from({ length: header.inputCount }, (_, i) => i)
      const claim = {
        root: view.trace.root,
        header,
        inputRoots: inputs.map(root),
        inputProofs: inputs.map((leaf) => view.leafProof(leaf)),
        outputRoots: header.outputLeaves.map(root),
        outputProofs: header.outputLeaves.map((leaf) => view.leafProof(leaf)),
      }
      return { functionName: 'postTrace', args: [claim] }
    }
    case GamePhase.reveal: {
      const level = game.level as 1 | 2
      const h = game.height - 1
      const left = view.node(level, h, 2 * game.index, game.opLeaf)
      const right = view.node(level, h, 2 * game.index + 1, game.opLeaf)
      return { functionName: 'reveal', args: [left, right] }
    }
    case GamePhase.awaitChunk:
      return { functionName: 'revealChunk', args: [toHex(view.chunk(game.opLeaf, game.index))] }
    case GamePhase.awaitSum: {
      const acc = defendedSums(game, view)
      if (!acc) return undefined
      const op = game.opLeaf - game.inputCount
      const opReads = {
        op: view.graph.ops[op],
        inputProofs: finishProofs(view, op),
        reads: sumReads(view.model, view.trace, op, game.outIndex, 'finish', acc.at(-1)!),
      }
      return { functionName: 'postSum', args: [acc.at(-1)!, opReads] }
    }
    case GamePhase.sumReveal: {
      const acc = defendedSums(game, view)
      return acc ? { functionName: 'revealSum', args: [acc[Math.floor((game.sumLo + game.sumHi) / 2)]!] } : undefined
    }
    default:
      return undefined
  }
}

/**
 * The partial sums the node defends for the disputed value: those of its own trace, whose last one
 * must requantize to the value it committed. A node whose committed value is not what its inputs
 * give (a cheat) keeps every honest partial sum but forges the last one — the closest accumulator
 * that requantizes to its value — and is caught on the final term; undefined when none exists.
 */
export function defendedSums(game: GameState, view: TraceView): bigint[] | undefined {
  const op = game.opLeaf - game.inputCount
  const acc = partialSums(view.model, view.trace, op, game.outIndex)
  const value = (a: bigint) => sumValue(view.model, view.trace, op, game.outIndex, a)
  const last = acc.at(-1)!
  if (value(last) === game.claimed) return acc
  // The value is monotone in the accumulator (a softmax's in its sum, the max kept; a norm's in its
  // Σx², Σx kept): search the first accumulator on the claimed side and keep it if it finishes
  // exactly into the claim.
  const kind = view.model.nodes[op]!.op
  let accOf = (x: bigint) => x
  let [lo, hi] = [-(1n << 45n), 1n << 45n]
  if (kind === 'Softmax') {
    accOf = (x) => (x << 16n) + (last & 0xffffn)
    ;[lo, hi] = [1n, 1n << 40n]
  } else if (kind === 'Norm') {
    // T = D·S2 − S1² + E (or D·S2 + E) must stay ≥ 1: start from the least such S2.
    const node = view.model.nodes[op]!
    const { center, e } = node.attrs as { center: number; e: number }
    const rowSize = BigInt(node.outShape.at(-1)!)
    const s1 = (last & 0xffffffffn) - 0x80000000n
    const least = (center ? s1 * s1 : 0n) - BigInt(e) + 1n
    accOf = (x) => (x << 32n) + (last & 0xffffffffn)
    ;[lo, hi] = [least > 0n ? (least + rowSize - 1n) / rowSize : 0n, 1n << 60n]
  }
  const first = value(accOf(lo))
  const end = value(accOf(hi))
  if (first === undefined || end === undefined) return undefined
  const rising = end >= first
  while (lo < hi) {
    const mid = (lo + hi) >> 1n
    const v = value(accOf(mid))!
    if (rising ? v >= game.claimed : v <= game.claimed) hi = mid
    else lo = mid + 1n
  }
  if (value(accOf(lo)) !== game.claimed) return undefined
  return [...acc.slice(0, -1), accOf(lo)]
}

/** Proofs of the finish's inputs (the op's constants and, were they activations, their trace leaves). */
function finishProofs(view: TraceView, op: number): Hex[][] {
  return view.graph.ops[op]!.inputs.map((ref) => (ref.isConst ? view.constProof(ref.leaf) : view.leafProof(ref.leaf)))
}
