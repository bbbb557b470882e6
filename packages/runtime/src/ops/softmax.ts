import { floorDiv, INT16_MAX, rshift } from '../fixedPoint.js'
import type { FloatTensor } from '../tensor.js'
import { floatTensor, normalizeAxis, sizeOf } from '../tensor.js'
import type { Attrs, IntOp, OnnxOp } from './types.js'
import { attrInt, num } from './types.js'

/** Number of table intervals for exp(−d); the table has one more (closing) entry. */
export const EXP_INTERVALS = 4096
/** exp(−d·s) is tabulated in Q16: E[k] = round(65536 · exp(−k · 2^r · s)). */
export const EXP_ONE = 65536

/** Softmax reduces over `d` elements spaced `inner` apart, in `outer` independent groups. */
function layout(attrs: Attrs, i: number): { base: number; at: (j: number) => number } {
  const d = num(attrs, 'd')
  const inner = num(attrs, 'inner')
  const o = Math.floor(i / (d * inner))
  const t = i % inner
  const base = o * d * inner + t
  return { base, at: (j) => base + j * inner }
}

export const softmaxOnnx: OnnxOp = {
  resolve(node, ctx) {
    const shape = ctx.shape(node.inputs[0] as string)
    const rank = shape.length
    // Before opset 13 softmax flattens dims [axis, rank) into one; from 13 it reduces one axis.
    const legacy = ctx.opset < 13
    const axis = normalizeAxis(attrInt(node, 'axis', legacy ? 1 : -1), rank)
    const d = legacy ? sizeOf(shape.slice(axis)) : (shape[axis] as number)
    const inner = legacy ? 1 : sizeOf(shape.slice(axis + 1))
    return { attrs: { d, inner }, shape }
  },
  evalFloat(node, [x]) {
    const xt = x as FloatTensor
    const out = floatTensor([...xt.shape])
    const d = num(node.attrs, 'd')
    const inner = num(node.attrs, 'inner')
    for (let i = 0; i < xt.data.length; i++) {
      if (Math.floor(i / inner) % d !== 0) continue
      const { at } = layout(node.attrs, i)
      let max = Number.NEGATIVE_INFINITY
      for (let j = 0; j < d; j++) max = Math.max(max, xt.data[at(j)] as number)
      let sum = 0
      for (let j = 0; j < d; j++) sum += Math.exp((xt.data[at(j)] as number) - max)
      for (let j = 0; j < d; j++) out.data[at(j)] = Math.exp((xt.data[at(j)] as number) - max) / sum
    }
    return out
  },
  quantize(node, q) {
    const x = node.inputs[0] as string
    const sx = q.scaleOf(x)
    // Pick the step 2^r so that the table reaches exp(−12) (below half a Q16 unit).
    const r = Math.min(52, Math.max(0, Math.ceil(Math.log2(12 / (EXP_INTERVALS * sx)))))
    const table = new Int32Array(EXP_INTERVALS + 1)
    for (let k = 0; k <= EXP_INTERVALS; k++) table[k] = Math.round(EXP_ONE * Math.exp(-k * 2 ** r * sx))
    return {
      op: 'Softmax',
      inputs: [q.activation(x), q.addConst(`${node.name}.exp`, 'int32', [EXP_INTERVALS + 1], table)],
      attrs: { d: num(node.attrs, 'd'), inner: num(node.attrs, 'inner'), r, ...(node.attrs.masked === 1 ? { masked: 1 } : {}) },
      outScale: 1 / INT16_MAX,
    }
  },
}

/** e = E(d) by linear interpolation, 0 past the table. */
function expAt(dist: number, r: number, read: (k: number) => number): number {
  const k = Math.floor(dist / 2 ** r)
  if (k >= EXP_INTERVALS) return 0
  const f = dist - k * 2 ** r
  const lo = read(k)
  return f === 0 ? lo : lo + rshift((read(k + 1) - lo) * f, r)
}

/**
 * Integer Softmax over groups of `d` values: m = max x_j, e_j = E(m − x_j),
 * y_i = floorDiv(2 · 32767 · e_i + S, 2S) with S = Σ e_j (round half up). Output scale 1/32767.
 * With MASKED = 1 (a −∞ mask before it), inputs equal to −32768 are masked out: they are left out
 * of the max, their e_j is 0, and a group with every value masked outputs 0.
 */
export const softmaxInt: IntOp = {
  run(node, [x, e]) {
    const xs = x as Int16Array
    const table = e as Int32Array
    const out = new Int16Array(xs.length)
    const d = num(node.attrs, 'd')
    const inner = num(node.attrs, 'inner')
    const r = num(node.attrs, 'r')
    const masked = node.attrs.masked === 1
    const exps = new Float64Array(d)
    const read = (k: number) => table[k] as number
    const groups = xs.length / d
    for (let g = 0; g < groups; g++) {
      const base = Math.floor(g / inner) * d * inner + (g % inner)
      let max = -32768
      let any = false
      for (let j = 0; j < d; j++) {
        const v = xs[base + j * inner] as number
        if (masked && v === -32768) continue
        any = true
        if (v > max) max = v
      }
      if (!any) continue
      let sum = 0
      for (let j = 0; j < d; j++) {
        const v = xs[base + j * inner] as number
        const ej = masked && v === -32768 ? 0 : expAt(max - v, r, read)
        exps[j] = ej
        sum += ej
      }
      for (let j = 0; j < d; j++) out[base + j * inner] = floorDiv(2 * INT16_MAX * (exps[j] as number) + sum, 2 * sum)
    }
    return out
  },
  evalOne(node, i, read) {
    const d = num(node.attrs, 'd')
    const r = num(node.attrs, 'r')
    const masked = node.attrs.masked === 1
    const { at } = layout(node.attrs, i)
    const live = (v: number) => !(masked && v === -32768)
    let max = -32768
    let any = false
    for (let j = 0; j < d; j++) {
      const v = read(0, at(j))
      if (!live(v)) continue
      any = true
      max = Math.max(max, v)
    }
    if (!any) return 0
    let sum = 0
    for (let j = 0; j < d; j++) {
      const v = read(0, at(j))
      if (live(v)) sum += expAt(max - v, r, (k) => read(1, k))
    }
    const own = read(0, i)
    const e = live(own) ? expAt(max - own, r, (k) => read(1, k)) : 0
    return floorDiv(2 * INT16_MAX * e + sum, 2 * sum)
  },
}
