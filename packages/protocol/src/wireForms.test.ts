import type { LoadedModel } from '@verity/runtime/core'
import { describe, expect, it } from 'vitest'
import { InvalidBase64Error, int16ToBase64 } from './int16Base64.js'
import { inputsFromWire, inputsJson, inputsToWire, outputsJson, outputsToWire, rawFromWire } from './wireForms.js'

/** A model as the wire forms see it: its inputs' names and shapes. */
const modelWith = (inputs: { name: string; shape: number[] }[]) =>
  ({
    model: {
      inputs: inputs.map((_, i) => i),
      tensors: inputs.map((t) => ({ ...t, dtype: 'int16', scale: 1 })),
    },
  }) as unknown as LoadedModel
/** A model as the output forms see it: its outputs' names, shapes and scales. */
const modelWithOutputs = (outputs: { name: string; shape: number[]; scale: number }[]) =>
  ({ model: { outputs: outputs.map((_, i) => i), tensors: outputs.map((t) => ({ ...t, dtype: 'int16' })) } }) as unknown as LoadedModel

describe('inputsJson', () => {
  it('is the text JSON.stringify(inputsToWire(...)) gives, and reads back to the same tensors', () => {
    const model = modelWith([
      { name: 'Input3', shape: [1, 2, 3] },
      { name: 'a "quoted"\\name', shape: [4] },
    ])
    const tensors = [Int16Array.from([0, -1, 32767, -32768, 5, 12]), Int16Array.from([7, -7, 0, 1])]
    const text = inputsJson(model, tensors)
    expect(text).toBe(JSON.stringify(inputsToWire(model, tensors)))
    expect(inputsFromWire(model, JSON.parse(text))).toEqual(tensors)
    // Every int16 value prints as JSON does.
    const all = Int16Array.from({ length: 65536 }, (_, i) => i - 32768)
    const wide = modelWith([{ name: 'x', shape: [65536] }])
    expect(inputsJson(wide, [all])).toBe(JSON.stringify(inputsToWire(wide, [all])))
  })
})

describe('outputsJson', () => {
  it('is the text JSON.stringify(outputsToWire(...)) gives, values = raw · scale; without values when asked', () => {
    const model = modelWithOutputs([
      { name: 'logits', shape: [1, 2, 3], scale: 0.001432457973379082 },
      { name: 'a "quoted"\\name', shape: [4], scale: -0.5 },
    ])
    const tensors = [Int16Array.from([0, -1, 32767, -32768, 5, 12]), Int16Array.from([7, -7, 0, 1])]
    const wire = outputsToWire(model, tensors)
    expect(outputsJson(model, tensors)).toBe(JSON.stringify(wire))
    expect(wire.logits!.values).toEqual(Array.from(tensors[0]!, (v) => v * 0.001432457973379082))
    const bare = Object.fromEntries(Object.entries(wire).map(([name, { values: _, ...rest }]) => [name, rest]))
    expect(outputsJson(model, tensors, { values: false })).toBe(JSON.stringify(bare))
    // Every int16 value prints as JSON does, in both forms.
    const all = Int16Array.from({ length: 65536 }, (_, i) => i - 32768)
    const wide = modelWithOutputs([{ name: 'x', shape: [65536], scale: 3.0517578125e-5 }])
    expect(outputsJson(wide, [all])).toBe(JSON.stringify(outputsToWire(wide, [all])))
  })

  it('writes raw in base64 when asked, with or without values, and rawFromWire reads either form back', () => {
    const model = modelWithOutputs([
      { name: 'logits', shape: [1, 2, 3], scale: 0.25 },
      { name: 'b', shape: [4], scale: -0.5 },
    ])
    const tensors = [Int16Array.from([0, -1, 32767, -32768, 5, 12]), Int16Array.from([7, -7, 0, 1])]
    const wire = outputsToWire(model, tensors)
    const inBase64 = Object.fromEntries(Object.entries(wire).map(([name, o], i) => [name, { ...o, raw: int16ToBase64(tensors[i]!) }]))
    expect(outputsJson(model, tensors, { encoding: 'base64' })).toBe(JSON.stringify(inBase64))
    const bare = Object.fromEntries(Object.entries(inBase64).map(([name, { values: _, ...rest }]) => [name, rest]))
    const text = outputsJson(model, tensors, { values: false, encoding: 'base64' })
    expect(text).toBe(JSON.stringify(bare))
    const read = Object.values(JSON.parse(text) as Record<string, { raw: string }>).map((o) => rawFromWire(o.raw))
    expect(read).toEqual(tensors)
    expect(rawFromWire(wire.logits!.raw)).toEqual(tensors[0])
    expect(() => rawFromWire('AQD+/x==', 'outputs.logits.raw')).toThrow(InvalidBase64Error)
    expect(() => rawFromWire({ length: 3 }, 'outputs[0].raw')).toThrow(
      /outputs\[0\]\.raw: expected an array of int16 integers or their base64, found/,
    )
  })
})
