import { describe, expect, it } from 'vitest'
import { defaultRunWorkers, runWorkersFor } from './runWorkersFor.js'

describe('runWorkersFor', () => {
  it('spreads a slow model over every worker and keeps a quick one on one', () => {
    expect(runWorkersFor({ poolSize: 4, recentRunMs: [31, 35, 40], spreadMinMs: 2 })).toBe(4)
    expect(runWorkersFor({ poolSize: 4, recentRunMs: [0.2, 0.3], spreadMinMs: 2 })).toBe(1)
  })

  it('decides on the fastest recent run, at the threshold inclusive', () => {
    // One interrupted run of a quick model does not spread it.
    expect(runWorkersFor({ poolSize: 2, recentRunMs: [0.2, 50], spreadMinMs: 2 })).toBe(1)
    expect(runWorkersFor({ poolSize: 2, recentRunMs: [2, 3], spreadMinMs: 2 })).toBe(2)
    expect(runWorkersFor({ poolSize: 2, recentRunMs: [1.99, 3], spreadMinMs: 2 })).toBe(1)
  })

  it('keeps one worker per core by default, at most 8', () => {
    expect([1, 2, 8, 64].map((cores) => defaultRunWorkers(cores))).toEqual([1, 2, 8, 8])
    expect(defaultRunWorkers()).toBeGreaterThanOrEqual(1)
  })

  it('gives a model never run one worker, and a pool of one or none what it has', () => {
    expect(runWorkersFor({ poolSize: 4, recentRunMs: undefined, spreadMinMs: 2 })).toBe(1)
    expect(runWorkersFor({ poolSize: 4, recentRunMs: [], spreadMinMs: 2 })).toBe(1)
    expect(runWorkersFor({ poolSize: 1, recentRunMs: [40], spreadMinMs: 2 })).toBe(1)
    expect(runWorkersFor({ poolSize: 0, recentRunMs: [40], spreadMinMs: 2 })).toBe(0)
  })
})
