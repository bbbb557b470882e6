import { executionSecret, executionTag, int16ToBase64, packTags } from '@verity/protocol'
import { tensorsHash } from '@verity/runtime/core'
import { describe, expect, it } from 'vitest'
import { bitmapOf } from './selection.js'
import { committedOutputs, wrongTag } from './tagAudit.js'

const verifier = '0x00000000000000000000000000000000000000aa' as const
const outputsOf = (i: number) => [Int16Array.from([i, 2 * i - 9]), Int16Array.from([-i])]
const json = (i: number) =>
  JSON.stringify({
    logits: { shape: [2], scale: 0.5, raw: [...outputsOf(i)[0]!] },
    extra: { shape: [1], scale: 1, raw: [...outputsOf(i)[1]!] },
  })

describe('committedOutputs', () => {
  it("reads the stored outputs in the model's order when they are the ones the receipt commits to", () => {
    const outputs = committedOutputs(json(3), tensorsHash(outputsOf(3)))
    expect(outputs?.map((t) => [...t])).toEqual(outputsOf(3).map((t) => [...t]))
  })

  it('reads raw in base64, as the node stores it now, and as arrays of integers, as rows stored before', () => {
    const [logits, extra] = outputsOf(3).map((t) => int16ToBase64(t))
    const stored = JSON.stringify({ logits: { shape: [2], scale: 0.5, raw: logits }, extra: { shape: [1], scale: 1, raw: extra } })
    expect(committedOutputs(stored, tensorsHash(outputsOf(3)))).toEqual(outputsOf(3))
    expect(committedOutputs(stored.replace(logits!, `${logits!.slice(0, -2)}x=`), tensorsHash(outputsOf(3)))).toBeUndefined()
  })

  it("is undefined for a decoy's row (its outputs are a template's), a broken row or a row of another shape", () => {
    expect(committedOutputs(json(3), tensorsHash(outputsOf(4)))).toBeUndefined()
    expect(committedOutputs('{not json', tensorsHash(outputsOf(3)))).toBeUndefined()
    expect(committedOutputs('{"a":{"raw":"x"}}', tensorsHash(outputsOf(3)))).toBeUndefined()
    expect(committedOutputs('null', tensorsHash(outputsOf(3)))).toBeUndefined()
  })
})

describe('wrongTag', () => {
  const count = 300
  const set = [1, 5, 255, 256, 299]
  const bitmap = bitmapOf(set, count)
  const tag = (i: number) => executionTag(executionSecret(outputsOf(i)), verifier, 7, i)
  const outputsAt = (i: number) => (i === 5 ? undefined : outputsOf(i))

  it('finds nothing in an attestation whose every tag is right (the tags follow the set bits across words)', () => {
    expect(wrongTag(7, count, { verifier, bitmap, tags: packTags(set.map(tag)) }, outputsAt)).toBeUndefined()
  })

  it('finds the first receipt with a wrong tag, with its outputs', () => {
    const tags = packTags(set.map((i) => (i === 256 ? '0x0000000000000001' : tag(i))))
    const found = wrongTag(7, count, { verifier, bitmap, tags }, outputsAt)
    expect(found?.index).toBe(256)
    expect(found?.outputs.map((t) => [...t])).toEqual(outputsOf(256).map((t) => [...t]))
  })

  it("does not judge a leaf it holds no outputs for (a decoy), nor another verifier's or batch's tags", () => {
    const tags = packTags(set.map((i) => (i === 5 ? '0x0000000000000001' : tag(i))))
    expect(wrongTag(7, count, { verifier, bitmap, tags }, outputsAt)).toBeUndefined()
    const other = '0x00000000000000000000000000000000000000bb' as const
    expect(wrongTag(7, count, { verifier: other, bitmap, tags: packTags(set.map(tag)) }, outputsAt)?.index).toBe(1)
    expect(wrongTag(8, count, { verifier, bitmap, tags: packTags(set.map(tag)) }, outputsAt)?.index).toBe(1)
  })
})
