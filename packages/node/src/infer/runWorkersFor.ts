import { availableParallelism } from 'node:os'

/**
 * The run workers a node keeps by default: one per core, at most 8. Each worker holds its own copy of
 * every model it runs, and a burst of requests for a slow model starts the idle ones at once, so the
 * default is bounded; an operator with the memory raises it (`--run-workers`). (Node 20 counts the
 * cores this process may run on, not a container's CPU quota.)
 */
export function defaultRunWorkers(cores = availableParallelism()): number {
  return Math.max(1, Math.min(cores, 8))
}

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
 * another worker has no core of its own to run on (mnist-8, a 0.2-ms run: two workers were not
 * faster, 0.91× the receipts per second and ahead in 2 of 8 rounds; docs/benchmarks.md, "Fifteenth
 * pass"). A slow model's requests spread over all: the event loop waits on the runs, and each worker
 * is another core running them (stories260K with two: 1.37× over 64 tokens, a 21-ms run; ahead in 4
 * of 6 rounds over 4 tokens, 1.8 ms). The fastest of the model's recent runs decides, as a run the
 * machine interrupted only ever takes longer; before its first run a model has one.
 *
 * @example
 * runWorkersFor({ poolSize: 4, recentRunMs: [0.2, 0.3], spreadMinMs: 1 }) // 1
 * runWorkersFor({ poolSize: 4, recentRunMs: [21, 25], spreadMinMs: 1 }) // 4
 */
export function runWorkersFor(p: RunWorkersForParameters): number {
  if (p.poolSize <= 1 || !p.recentRunMs?.length) return Math.min(1, p.poolSize)
  return Math.min(...p.recentRunMs) >= p.spreadMinMs ? p.poolSize : 1
}
