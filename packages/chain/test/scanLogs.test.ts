import { describe, expect, it } from 'vitest'
import { blockRanges } from '../src/index.js'

describe('blockRanges', () => {
  it('covers a span exactly, oldest first, each range at most the limit', () => {
    expect(blockRanges(10n, 14n, 2n)).toEqual([
      { fromBlock: 10n, toBlock: 11n },
      { fromBlock: 12n, toBlock: 13n },
      { fromBlock: 14n, toBlock: 14n },
    ])
    expect(blockRanges(0n, 9_999n, 5_000n)).toEqual([
      { fromBlock: 0n, toBlock: 4_999n },
      { fromBlock: 5_000n, toBlock: 9_999n },
    ])
    expect(blockRanges(7n, 6n, 5n)).toEqual([])
    expect(() => blockRanges(0n, 1n, 0n)).toThrow(/at least 1/)
  })
})
