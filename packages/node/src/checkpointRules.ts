/** What one PASSIVE checkpoint reported: another checkpoint was running (`busy` 1), frames in the WAL, of them copied. */
export type CheckpointPass = { busy: number; log: number; checkpointed: number }

export type RestartPolicy = {
  /** Frames in the WAL from which the checkpointer has it started again from its beginning (0: never). */
  restartFrames: number
  /** Uncopied frames few enough to copy while the writer waits. */
  tailFrames: number
  /** Passes in a row before the checkpointer leaves it to its next interval (default 4). */
  maxPasses?: number
}

/**
 * The checkpointer's next step after a pass (`passes` made in a row so far): `wait` for its next
 * interval, another `catch-up` pass with the writer running (the uncopied tail is still long), or
 * `hold` — ask the writer to start no transaction while one last pass copies the tail, so the writer's
 * next transaction finds the WAL wholly copied and starts it again from its beginning. SQLite restarts
 * a WAL only then: under a steady stream of commits a pass never ends with nothing left to copy, the WAL
 * grows until a writer's own checkpoint (its safety net) copies it inside a commit, holding the event
 * loop for its page writes and fsyncs (docs/benchmarks.md, "Ninth pass").
 *
 * @example
 * restartStep({ busy: 0, log: 5000, checkpointed: 4950 }, { restartFrames: 4096, tailFrames: 64 }, 1) // 'hold'
 */
export function restartStep(pass: CheckpointPass | undefined, policy: RestartPolicy, passes: number): 'wait' | 'catch-up' | 'hold' {
  if (pass === undefined || pass.busy !== 0 || policy.restartFrames <= 0 || pass.log < policy.restartFrames) return 'wait'
  if (pass.log - pass.checkpointed <= policy.tailFrames) return 'hold'
  return passes < (policy.maxPasses ?? 4) ? 'catch-up' : 'wait'
}
