import type { AddressBook, Chain, TxSender } from '@verity/chain'
import { disputeGameAbi, GamePhase } from '@verity/contracts'
import { type GameHistory, type GameMove, type GameState, nodeMoves, readGame, readGameHistory } from './gameState.js'

/** One side of a game: who sends, and how it decides (undefined: it does not move). */
export type Player = { sender: TxSender; decide(game: GameState, history: GameHistory): GameMove | undefined }

export type PlayedMove = { by: 'node' | 'challenger'; functionName: GameMove['functionName']; gasUsed: bigint }

/** How a game went: every move with its gas, the final state and the total gas of the moves. */
export type GameRecord = { moves: PlayedMove[]; game: GameState; totalGas: bigint }

/** Sends `move` for game `gameId` from `sender`. */
export async function sendMove(sender: TxSender, book: AddressBook, gameId: bigint, move: GameMove) {
  return sender.write({
    address: book.contracts.disputeGame,
    abi: disputeGameAbi,
    functionName: move.functionName,
    args: [gameId, ...move.args],
  } as never)
}

/**
 * Plays a whole game between two players on a development chain (tests, benchmarks): whenever the
 * side to move declines, the clock is moved past its deadline and the other side claims the
 * timeout. Returns every move and its gas.
 *
 * @example
 * const record = await runGame({ chain, book, gameId: 1n, node, challenger })
 * record.game.nodeLost // true when the node's claim was wrong
 */
export async function runGame(parameters: {
  chain: Chain
  book: AddressBook
  gameId: bigint
  node: Player
  challenger: Player
  /** Give up after this many moves (default 200). */
  maxMoves?: number
}): Promise<GameRecord> {
  const { chain, book, gameId } = parameters
  const moves: PlayedMove[] = []
  let totalGas = 0n
  for (let i = 0; i < (parameters.maxMoves ?? 200); i++) {
    const game = await readGame(chain, book, gameId)
    if (game.phase === GamePhase.resolved) return { moves, game, totalGas }
    const nodeTurn = nodeMoves(game.phase)
    const [mover, other] = nodeTurn ? [parameters.node, parameters.challenger] : [parameters.challenger, parameters.node]
    const move = mover.decide(game, await readGameHistory(chain, book, gameId))
    let result: Awaited<ReturnType<typeof sendMove>>
    let by: PlayedMove['by'] = nodeTurn ? 'node' : 'challenger'
    if (move) {
      result = await sendMove(mover.sender, book, gameId, move)
    } else {
      const [, deadline] = await chain.publicClient.readContract({
        address: book.contracts.disputeGame,
        abi: disputeGameAbi,
        functionName: 'turnOf',
        args: [gameId],
      })
      const now = (await chain.publicClient.getBlock()).timestamp
      await chain.increaseTime(Number(deadline - now) + 1)
      result = await sendMove(other.sender, book, gameId, { functionName: 'timeout', args: [] })
      by = nodeTurn ? 'challenger' : 'node'
    }
    totalGas += result.gasUsed
    moves.push({ by, functionName: move?.functionName ?? 'timeout', gasUsed: result.gasUsed })
  }
  throw new Error(`game ${gameId} not resolved after ${moves.length} moves`)
}
