export type RunsInlineParameters = {
  /** Requests the node is answering, this one included. */
  answering: number
  /** How long the model's last runs took (ms); none before its first. */
  recentRunMs: readonly number[] | undefined
  /** The longest run allowed on the event loop (ms); 0 never runs inline. */
  maxMs: number
}

/**
 * Whether a request runs its model on the event loop rather than in a worker thread: only when it
 * is the only request being answered (nothing else waits behind the run) and the model is known to
 * be quick (the fastest of its recent runs took at most `maxMs`: the fastest, because a run the
 * machine interrupted only ever takes longer). Alone, a request gains nothing from the worker and
 * pays its message there and back; with others in flight, the worker keeps the run's CPU and
 * allocations off the thread that serves them.
 *
 * @example
 * runsInline({ answering: 1, recentRunMs: [0.2, 3.1], maxMs: 1 }) // true
 */
export function runsInline(p: RunsInlineParameters): boolean {
  if (p.maxMs <= 0 || p.answering !== 1 || !p.recentRunMs?.length) return false
  return Math.min(...p.recentRunMs) <= p.maxMs
}
