import { describe, expect, it } from 'vitest'
import { restartStep } from './checkpointRules.js'

const policy = { restartFrames: 4096, tailFrames: 256 }

describe('restartStep', () => {
  it('holds the writer only for a long WAL whose uncopied tail is short', () => {
    expect(restartStep({ busy: 0, log: 5000, checkpointed: 4900 }, policy, 1)).toBe('hold')
    expect(restartStep({ busy: 0, log: 5000, checkpointed: 5000 - 256 }, policy, 1)).toBe('hold')
    // A short WAL is left to grow: a restart costs the writer a wait and its next commit an fsync of the WAL's header.
    expect(restartStep({ busy: 0, log: 4095, checkpointed: 4095 }, policy, 1)).toBe('wait')
  })

  it('catches up with the writer running while the tail is long, for at most maxPasses passes in a row', () => {
    expect(restartStep({ busy: 0, log: 9000, checkpointed: 5000 }, policy, 1)).toBe('catch-up')
    expect(restartStep({ busy: 0, log: 9000, checkpointed: 5000 }, policy, 3)).toBe('catch-up')
    expect(restartStep({ busy: 0, log: 9000, checkpointed: 5000 }, policy, 4)).toBe('wait')
    expect(restartStep({ busy: 0, log: 9000, checkpointed: 5000 }, { ...policy, maxPasses: 8 }, 4)).toBe('catch-up')
  })

  it('waits after a failed pass, while another connection checkpoints, and when restarts are off', () => {
    expect(restartStep(undefined, policy, 1)).toBe('wait')
    expect(restartStep({ busy: 1, log: 5000, checkpointed: 5000 }, policy, 1)).toBe('wait')
    expect(restartStep({ busy: 0, log: -1, checkpointed: -1 }, policy, 1)).toBe('wait')
    expect(restartStep({ busy: 0, log: 5000, checkpointed: 5000 }, { ...policy, restartFrames: 0 }, 1)).toBe('wait')
  })
})
