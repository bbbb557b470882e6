import { GamePhase } from '@verity/contracts'
import { challengerMove, type GameHistory, type GameMove, type GameState, stepMove, type TraceView } from '@verity/dispute'
import type { VerifierParts } from '@verity/node'
import { seededRandom } from '@verity/runtime'

/**
 * A false challenger (issue 13's adversarial devnet): the honest verifier's parts replaced so that it
 * challenges `rate` of the receipts it found correct, then plays its games at random sides and a
 * one-step on whatever value it reached. It loses those games and their bonds.
 */
export function falseChallenger(rate: number, seed = 7): VerifierParts {
  const random = seededRandom(seed)
  return {
    challengesMatch: () => random() < rate,
    decide(game: GameState, history: GameHistory, view: TraceView): GameMove | undefined {
      if (game.phase === GamePhase.choose) return { functionName: 'choose', args: [random() < 0.5] }
      if (game.phase === GamePhase.awaitStep && history.chunk) return stepMove(game, view, history, 0)
      return challengerMove(game, view, history)
    },
  }
}
