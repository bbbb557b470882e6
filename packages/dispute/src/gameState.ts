import { type AddressBook, type Chain, scanLogs } from '@verity/chain'
import { disputeGameAbi, GamePhase } from '@verity/contracts'
import type { Address, Hex } from 'viem'

/** A game as `DisputeGame.getGame` returns it. */
export type GameState = {
  node: Address
  turnStartedAt: number
  phase: number
  level: number
  nodeLost: boolean
  reason: number
  challenger: Address
  nodeClock: number
  challengerClock: number
  modelId: Hex
  inputHash: Hex
  outputHash: Hex
  traceRoot: Hex
  weightsRoot: Hex
  opsRoot: Hex
  current: Hex
  left: Hex
  right: Hex
  opHash: Hex
  index: number
  height: number
  inputCount: number
  leafCount: number
  constCount: number
  opLeaf: number
  outElements: number
  outWidth: number
  outIndex: number
  sumLo: number
  sumHi: number
  claimed: bigint
  accLo: bigint
  accHi: bigint
  accMid: bigint
}

/** What the node revealed so far: level-1 tree nodes by `height:index`, and the disputed chunk's bytes. */
export type GameHistory = { traceNodes: Map<string, Hex>; chunk?: Hex }

/** A move: a DisputeGame function and its arguments. */
export type GameMove = {
  functionName:
    | 'postTrace'
    | 'reveal'
    | 'choose'
    | 'selectOp'
    | 'revealChunk'
    | 'prove'
    | 'disputeSum'
    | 'postSum'
    | 'revealSum'
    | 'chooseSum'
    | 'proveTerm'
    | 'timeout'
  args: readonly unknown[]
}

/** Whether the node (defender) moves in `phase`. */
export function nodeMoves(phase: number): boolean {
  return (
    phase === GamePhase.awaitTrace ||
    phase === GamePhase.reveal ||
    phase === GamePhase.awaitChunk ||
    phase === GamePhase.awaitSum ||
    phase === GamePhase.sumReveal
  )
}

export async function readGame(chain: Chain, book: AddressBook, gameId: bigint): Promise<GameState> {
  const game = await chain.publicClient.readContract({
    address: book.contracts.disputeGame,
    abi: disputeGameAbi,
    functionName: 'getGame',
    args: [gameId],
  })
  return game as unknown as GameState
}

/** The node's reveals of a game, from its events. */
export async function readGameHistory(chain: Chain, book: AddressBook, gameId: bigint, fromBlock?: bigint): Promise<GameHistory> {
  const events = await scanLogs(chain, {
    fromBlock: fromBlock ?? book.deployedAtBlock,
    fetch: (range) =>
      chain.publicClient.getContractEvents({ address: book.contracts.disputeGame, abi: disputeGameAbi, args: { gameId }, ...range }),
  })
  const history: GameHistory = { traceNodes: new Map() }
  for (const event of events) {
    if (event.eventName === 'Revealed' && event.args.level === 1) {
      const { height, index, left, right } = event.args as { height: number; index: number; left: Hex; right: Hex }
      history.traceNodes.set(`${height - 1}:${2 * index}`, left)
      history.traceNodes.set(`${height - 1}:${2 * index + 1}`, right)
    } else if (event.eventName === 'ChunkRevealed') {
      history.chunk = (event.args as { data: Hex }).data
    }
  }
  return history
}
