import { keccak256, toHex } from 'viem'
import { describe, expect, it } from 'vitest'
import { buildReceiptTree, receiptRootFromProof, receiptTreeDepth, verifyReceiptProof } from './receiptTree.js'

const leaf = (i: number) => keccak256(toHex(`receipt ${i}`))

describe('receipt tree', () => {
  it('has depth ceil(log2(count)) and pads with zero leaves', () => {
    expect([1, 2, 3, 4, 5, 1024, 1025].map(receiptTreeDepth)).toEqual([0, 1, 2, 2, 3, 10, 11])
    expect(buildReceiptTree([leaf(0)]).root).toBe(leaf(0))
    const zero = `0x${'00'.repeat(32)}` as const
    const three = buildReceiptTree([leaf(0), leaf(1), leaf(2)])
    const left = keccak256(`${leaf(0)}${leaf(1).slice(2)}`)
    const right = keccak256(`${leaf(2)}${zero.slice(2)}`)
    expect(three.root).toBe(keccak256(`${left}${right.slice(2)}`))
    expect(three.proof(2)).toEqual([zero, left])
  })

  it('proves every leaf and nothing else', () => {
    const leaves = Array.from({ length: 13 }, (_, i) => leaf(i))
    const tree = buildReceiptTree(leaves)
    for (let i = 0; i < 13; i++) {
      expect(verifyReceiptProof({ root: tree.root, leaf: leaves[i]!, index: i, count: 13, proof: tree.proof(i) })).toBe(true)
      expect(verifyReceiptProof({ root: tree.root, leaf: leaves[i]!, index: (i + 1) % 13, count: 13, proof: tree.proof(i) })).toBe(false)
    }
    expect(receiptRootFromProof(leaves[0]!, 13, 13, tree.proof(0))).toBeUndefined()
    expect(receiptRootFromProof(leaves[0]!, 0, 13, tree.proof(0).slice(1))).toBeUndefined()
    expect(() => tree.proof(13)).toThrow('receipt index must be in [0, 13), found 13')
    expect(() => buildReceiptTree([])).toThrow('at least one leaf')
  })
})
