export type RunWorkersForParameters = {
  /** Worker threads in the node's pool. */
  poolSize: number
  /** How long the model's last runs took (ms); none before its first. */
  recentRunMs: readonly number[] | undefined
  /** The shortest run (ms) whose requests spread over every worker; below it they share one. */
  spreadMinMs: number
}

/**
 * How many of the pool's worker threads a model's requests may be answered in. A quick model's
 * requests share one: the event loop's own work for a request (HTTP, the price check, storage) then
 * costs about what its run does, so the event loop and one worker already keep the cores busy, and
 * another worker would only contend with them for the cores (mnist-8, a 0.2-ms run: 0.91× the
 * receipts per second with two workers; docs/benchmarks.md, "Fifteenth pass"). A slow model's requests
 * spread over all: the event loop waits on the runs, and each worker is another core running them
 * (stories260K: 1.38× with two over 64 tokens, a 21-ms run, and ahead in 4 of 6 rounds over 4, 1.8 ms). The fastest of the model's recent runs decides, as a run the machine interrupted only
 * ever takes longer; before its first run a model has one.
 *
 * @example
 * runWorkersFor({ poolSize: 4, recentRunMs: [0.2, 0.3], spreadMinMs: 1 }) // 1
 * runWorkersFor({ poolSize: 4, recentRunMs: [21, 25], spreadMinMs: 1 }) // 4
 */
export function runWorkersFor(p: RunWorkersForParameters): number {
  if (p.poolSize <= 1 || !p.recentRunMs?.length) return Math.min(1, p.poolSize)
  return Math.min(...p.recentRunMs) >= p.spreadMinMs ? p.poolSize : 1
}
