import { type AddressBook, type Chain, type EventFollower, followEvents, memoryCursor, type TxSender } from '@verity/chain'
import { disputeGameAbi, GamePhase } from '@verity/contracts'
import type { Hex } from 'viem'
import { challengerMove } from './challengerMove.js'
import { defenderMove } from './defenderMove.js'
import { type GameHistory, type GameMove, type GameState, nodeMoves, readGame, readGameHistory } from './gameState.js'
import { sendMove } from './runGame.js'
import type { TraceView } from './traceView.js'

export type GameResponderOptions = {
  chain: Chain
  book: AddressBook
  sender: TxSender
  /** Which side this party plays in the games it is named in. */
  side: 'node' | 'challenger'
  /** The trace to play game `gameId` from; undefined declines to play it (it will be lost on time). */
  viewFor(game: GameState, gameId: bigint): Promise<TraceView | undefined>
  /**
   * The node's side only: the secret of a decoy (forced error) the game is about, to concede it at
   * once (docs/economics.md, "Decoys"); undefined plays the game.
   */
  decoySecretFor?(game: GameState): Hex | undefined
  /** Decides a move; defaults to `defenderMove` or the honest `challengerMove`. */
  decide?(game: GameState, history: GameHistory, view: TraceView): GameMove | undefined
  pollIntervalMs?: number
  log?(line: string): void
  /** Called once per game when it is resolved. */
  onResolved?(gameId: bigint, game: GameState): void
}

export type GameResponder = {
  start(): void
  stop(): Promise<void>
  /** Games this party is in and has not seen resolved. */
  active(): bigint[]
  /** Runs one round over every active game (tests and tools). */
  tick(): Promise<void>
}

/**
 * Plays this party's side of every dispute game it is named in (the op-challenger shape): a
 * monitor follows `GameOpened`; each round reads every active game, and when it is this party's
 * turn sends the move the pure decision function picks from its trace; when the other side's clock
 * ran out it claims the timeout. A failed move is logged and retried next round.
 *
 * @example
 * const responder = createGameResponder({ chain, book, sender, side: 'node', viewFor: async (game) => traceView(model, myTrace) })
 * responder.start()
 */
export function createGameResponder(options: GameResponderOptions): GameResponder {
  const { chain, book, sender } = options
  const log = options.log ?? (() => {})
  const me = sender.address.toLowerCase()
  /** Games this party plays, with the block that opened each (its history starts there). */
  const games = new Map<bigint, { view?: TraceView | null; openedAt: bigint }>()
  let follower: EventFollower | undefined
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined
  const decide =
    options.decide ??
    ((game: GameState, history: GameHistory, view: TraceView) =>
      options.side === 'node' ? defenderMove(game, view) : challengerMove(game, view, history))

  async function play(gameId: bigint, entry: { view?: TraceView | null; openedAt: bigint }): Promise<void> {
    const game = await readGame(chain, book, gameId)
    if (game.phase === GamePhase.resolved) {
      games.delete(gameId)
      log(`game ${gameId}: ${game.nodeLost ? 'node lost' : 'challenger lost'} (reason ${game.reason})`)
      options.onResolved?.(gameId, game)
      return
    }
    const mine = nodeMoves(game.phase) === (options.side === 'node')
    if (!mine) {
      const [, deadline] = await chain.publicClient.readContract({
        address: book.contracts.disputeGame,
        abi: disputeGameAbi,
        functionName: 'turnOf',
        args: [gameId],
      })
      // An idle development chain mines no blocks, so its head's time stands still: the next block's
      // time is at least the wall clock (a premature claim only fails its simulation and is retried).
      const head = (await chain.publicClient.getBlock()).timestamp
      const wall = BigInt(Math.floor(Date.now() / 1000))
      const now = head > wall ? head : wall
      if (now > deadline) {
        await sendMove(sender, book, gameId, { functionName: 'timeout', args: [] })
        log(`game ${gameId}: claimed the other side's timeout`)
      }
      return
    }
    const secret = options.side === 'node' ? options.decoySecretFor?.(game) : undefined
    if (secret) {
      const result = await sendMove(sender, book, gameId, { functionName: 'concede', args: [secret] } as never)
      log(`game ${gameId}: conceded a decoy (${result.gasUsed} gas)`)
      return
    }
    if (entry.view === undefined) entry.view = (await options.viewFor(game, gameId)) ?? null
    if (entry.view === null) return
    const move = decide(game, await readGameHistory(chain, book, gameId, entry.openedAt), entry.view)
    if (!move) return
    const result = await sendMove(sender, book, gameId, move)
    log(`game ${gameId}: ${move.functionName} (${result.gasUsed} gas)`)
  }

  async function tick(): Promise<void> {
    for (const [gameId, entry] of games) {
      try {
        await play(gameId, entry)
      } catch (error) {
        log(`game ${gameId}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)} (will retry)`)
      }
    }
  }

  return {
    active: () => [...games.keys()],
    tick,
    start() {
      follower = followEvents({
        chain,
        abi: disputeGameAbi,
        address: book.contracts.disputeGame,
        fromBlock: book.deployedAtBlock,
        pollIntervalMs: options.pollIntervalMs ?? (chain.kind === 'embedded' ? 100 : 1000),
        cursor: memoryCursor(),
        onError: (error) => log(`game watcher: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`),
        async onLogs(logs) {
          for (const event of logs) {
            if (event.eventName !== 'GameOpened') continue
            const party = options.side === 'node' ? event.args.node : event.args.challenger
            if (party?.toLowerCase() === me && !games.has(event.args.gameId!))
              games.set(event.args.gameId!, { openedAt: event.blockNumber })
          }
        },
      })
      const loop = async () => {
        running = tick()
        await running
        running = undefined
        if (timer !== undefined) timer = setTimeout(loop, options.pollIntervalMs ?? 250)
      }
      timer = setTimeout(loop, 0)
    },
    async stop() {
      if (timer) clearTimeout(timer)
      timer = undefined
      await follower?.stop()
      while (running) await running
    },
  }
}
