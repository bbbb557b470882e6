import { encodeMode } from '@verity/contracts'
import type { Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { bitmapOf, selectionSeed, selectReceipts } from './selection.js'

const block = `0x${'5a'.repeat(32)}` as Hex
const verifierA = `0x${'0a'.repeat(20)}` as Hex
const verifierB = `0x${'0b'.repeat(20)}` as Hex
const optimistic = encodeMode('optimistic')

describe('selectionSeed', () => {
  it('is fixed by the commit block, the verifier and the batch, and differs when any of them does', () => {
    const seed = selectionSeed(block, verifierA, 7)
    expect(seed).toBe(selectionSeed(block, verifierA, 7))
    expect(
      new Set([
        seed,
        selectionSeed(block, verifierB, 7),
        selectionSeed(block, verifierA, 8),
        selectionSeed(`0x${'5b'.repeat(32)}`, verifierA, 7),
      ]).size,
    ).toBe(4)
    expect(seed).toMatchInlineSnapshot(`"0xfe782e059f89e929402077cd05e93eaabf98c8b915a222c069ab18e7e9b282d6"`)
  })
})

describe('selectReceipts', () => {
  it('always checks quorum receipts, never mode none, and optimistic ones at the rate', () => {
    const seed = selectionSeed(block, verifierA, 1)
    const modes = [0, optimistic, encodeMode('quorum:2'), 0, optimistic, encodeMode('quorum:5')]
    expect(selectReceipts(seed, modes, 0)).toEqual([2, 5])
    expect(selectReceipts(seed, modes, 1)).toEqual([1, 2, 4, 5])
    // Out-of-range rates are clamped.
    expect(selectReceipts(seed, modes, -1)).toEqual([2, 5])
    expect(selectReceipts(seed, modes, 7)).toEqual([1, 2, 4, 5])
  })

  it('draws each optimistic receipt independently from the seed: the share is the rate, the picks are the seed’s', () => {
    const modes = new Array<number>(4000).fill(optimistic)
    const a = selectReceipts(selectionSeed(block, verifierA, 3), modes, 0.3)
    const b = selectReceipts(selectionSeed(block, verifierB, 3), modes, 0.3)
    expect(a.length / modes.length).toBeCloseTo(0.3, 1)
    expect(b.length / modes.length).toBeCloseTo(0.3, 1)
    // Two verifiers check different receipts: their overlap is about rate² of the batch, not the rate.
    const overlap = a.filter((i) => new Set(b).has(i)).length
    expect(overlap / modes.length).toBeCloseTo(0.09, 1)
    expect(selectReceipts(selectionSeed(block, verifierA, 3), modes, 0.3)).toEqual(a)
    // A higher rate checks a superset.
    const more = new Set(selectReceipts(selectionSeed(block, verifierA, 3), modes, 0.5))
    expect(a.every((i) => more.has(i))).toBe(true)
  })
})

describe('bitmapOf', () => {
  it('sets bit i of word ⌊i / 256⌋, with one word per 256 receipts', () => {
    expect(bitmapOf([], 0)).toEqual([])
    expect(bitmapOf([], 1)).toEqual([0n])
    expect(bitmapOf([0, 2], 3)).toEqual([5n])
    expect(bitmapOf([0, 255, 256, 511], 512)).toEqual([1n | (1n << 255n), 1n | (1n << 255n)])
    expect(bitmapOf([256], 257)).toEqual([0n, 1n])
  })
})
