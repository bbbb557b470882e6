import { describe, expect, it } from 'vitest'
import type { ImportResult, LoadedModel, Trace, Witness } from '../src/index.js'
import { commitTrace, loadMnist, mnistImage, openValue, recomputeValue, run, verifyWitness } from '../src/index.js'
import { haveBackendTests, importLight, importMnist, mnistDir, prng } from './fixtures.js'

/** Opens `perOp` random values of every op; each must recompute alone to the full run's value. */
function checkEveryOp(model: LoadedModel, trace: Trace, perOp: number, seed: number): number {
  const rand = prng(seed)
  let checked = 0
  for (const node of model.nodes) {
    const out = trace.tensors.get(node.output) as Int16Array
    for (let k = 0; k < perOp; k++) {
      const index = Math.floor(rand() * out.length)
      const witness = openValue(model, trace, node.index, index)
      expect(witness.value).toBe(out[index])
      expect(recomputeValue(witness)).toBe(out[index])
      expect(verifyWitness(witness, { model, traceRoot: trace.root })).toEqual({ ok: true, value: out[index] })
      checked++
    }
  }
  return checked
}

function tamper(w: Witness, f: (w: Witness) => void): Witness {
  const copy = structuredClone(w)
  f(copy)
  return copy
}

describe('single-value witnesses', () => {
  const { model }: ImportResult = importMnist()
  const set = loadMnist(mnistDir)

  it('recompute random values of every op of mnist-8 alone, with verifying proofs', () => {
    for (const i of [3, 77]) {
      const { trace } = run(model, { Input3: mnistImage(set, i) }, { trace: true })
      expect(checkEveryOp(model, trace as Trace, 12, i)).toBe(12 * model.nodes.length)
    }
  })

  it('reject a witness whose value, input chunk, weight chunk, proof or op descriptor was altered', () => {
    const { trace } = run(model, { Input3: mnistImage(set, 5) }, { trace: true })
    const t = trace as Trace
    const conv = model.nodes.findIndex((n) => n.op === 'Conv')
    const w = openValue(model, t, conv, 100)
    const traceRoot = t.root
    expect(verifyWitness(w, { model, traceRoot }).ok).toBe(true)
    const flip = (hex: string, at: number) => `${hex.slice(0, at)}${hex[at] === '0' ? '1' : '0'}${hex.slice(at + 1)}`
    const cases: [string, Witness][] = [
      ['value', tamper(w, (x) => (x.value += 1))],
      [
        'input chunk',
        tamper(w, (x) => ((x.inputs[0]?.chunks[0] as { data: string }).data = flip(x.inputs[0]?.chunks[0]?.data as string, 4))),
      ],
      [
        'weight chunk',
        tamper(w, (x) => ((x.inputs[1]?.chunks[0] as { data: string }).data = flip(x.inputs[1]?.chunks[0]?.data as string, 4))),
      ],
      [
        'root proof',
        tamper(w, (x) => ((x.inputs[0] as { rootSiblings: string[] }).rootSiblings[0] = flip(x.inputs[0]?.rootSiblings[0] as string, 6))),
      ],
      ['shift attr', tamper(w, (x) => (x.node.attrs.sh = 2))],
      ['op', tamper(w, (x) => (x.op = conv + 1))],
      ['trace root', tamper(w, (x) => (x.traceRoot = flip(x.traceRoot, 10) as `0x${string}`))],
      ['missing chunk', tamper(w, (x) => x.inputs[0]?.chunks.pop())],
    ]
    for (const [name, bad] of cases) {
      const check = verifyWitness(bad, { model, traceRoot })
      expect(check, name).toMatchObject({ ok: false, kind: 'malformed' })
    }
  })

  it('reject indices and chunks that are not positions of the tensor', () => {
    const { trace } = run(model, { Input3: mnistImage(set, 6) }, { trace: true })
    const t = trace as Trace
    const dense = model.nodes.length - 1
    const w = openValue(model, t, dense, 9)
    expect(w.output.chunks[0]?.data.length).toBe(2 + 2 * 64) // full, zero-padded chunks
    const bad: [string, Witness][] = [
      ['fractional index', tamper(w, (x) => (x.index = 8.5))],
      ['negative index', tamper(w, (x) => (x.index = -1))],
      ['index past the end (in the padding)', tamper(w, (x) => (x.index = 10))],
      ['negative chunk', tamper(w, (x) => ((x.output.chunks[0] as { chunk: number }).chunk = -1))],
      ['short chunk', tamper(w, (x) => ((x.output.chunks[0] as { data: string }).data = x.output.chunks[0]?.data.slice(0, 42) as string))],
      ['bad hex', tamper(w, (x) => ((x.output.chunks[0] as { data: string }).data = `${x.output.chunks[0]?.data.slice(0, -2)}zz`))],
      ['long sibling', tamper(w, (x) => ((x.inputs[0] as { rootSiblings: string[] }).rootSiblings[0] += '00'))],
    ]
    for (const [name, witness] of bad) {
      expect(verifyWitness(witness, { model, traceRoot: t.root }), name).toMatchObject({ ok: false, kind: 'malformed' })
    }
  })

  it('prove a wrong value: a trace with one corrupted value opens to a verifiable mismatch', () => {
    const { trace } = run(model, { Input3: mnistImage(set, 8) }, { trace: true })
    const honest = trace as Trace
    const op = model.nodes.findIndex((n) => n.op === 'MaxPool')
    const node = model.nodes[op] as (typeof model.nodes)[number]
    const tensors = new Map(honest.tensors)
    const corrupted = Int16Array.from(tensors.get(node.output) as Int16Array)
    corrupted[17] = (corrupted[17] as number) + 3
    tensors.set(node.output, corrupted)
    const cheat = commitTrace(model, tensors)
    expect(cheat.root).not.toBe(honest.root)
    const check = verifyWitness(openValue(model, cheat, op, 17), { model, traceRoot: cheat.root })
    expect(check).toEqual({
      ok: false,
      kind: 'mismatch',
      reason: expect.stringContaining('recomputed'),
      committed: corrupted[17],
      recomputed: (honest.tensors.get(node.output) as Int16Array)[17],
    })
    // Every other value of that op still verifies against the cheating trace.
    expect(verifyWitness(openValue(model, cheat, op, 16), { model, traceRoot: cheat.root }).ok).toBe(true)
  })

  it.runIf(haveBackendTests('the squeezenet witness test'))(
    'recompute random values of every op of the squeezenet graph alone, with verifying proofs',
    () => {
      const { result, input, inputName } = importLight('squeezenet')
      const { trace } = run(result.model, { [inputName]: input }, { trace: true })
      expect(result.model.nodes.length).toBeGreaterThan(60)
      expect(checkEveryOp(result.model, trace as Trace, 3, 9)).toBe(3 * result.model.nodes.length)
    },
  )
})
