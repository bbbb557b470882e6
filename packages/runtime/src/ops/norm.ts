import { QuantizationError, UnsupportedOpError } from '../errors.js'
import { floorDiv, INT16_MAX, sat16 } from '../fixedPoint.js'
import type { FloatTensor } from '../tensor.js'
import { floatTensor, normalizeAxis, sizeOf } from '../tensor.js'
import type { IntOp, OnnxOp } from './types.js'
import { attrFloat, attrInt, num } from './types.js'
import { INT32_MAX } from './weights.js'

/**
 * LayerNormalization and RMSNormalization over the last axis become the integer `Norm`:
 * per row of D values, S1 = Σx, S2 = Σx², and with CENTER = 1 (LayerNorm)
 *   n_i = D·x_i − S1, T = D·S2 − S1² + E,
 * with CENTER = 0 (RMSNorm)
 *   n_i = D·x_i,      T = D·S2 + E,
 * s = ⌊√T⌋, y_i = sat16(roundDiv(n_i · G_i, s · 2^F) + B_i).
 * E = round(ε·D² / s_x²) carries epsilon; G_i = round(γ_i / s_y · 2^F), B_i = round(β_i / s_y).
 * Since n_i / √T = (x_i − μ) / √(σ² + ε) (resp. x_i / √(mean x² + ε)) in real terms, the input scale
 * cancels out.
 */

/** ⌊√v⌋ for an integer 0 ≤ v < 2^52, exactly (the double estimate corrected with exact squares). */
export function isqrt(v: number): number {
  let s = Math.floor(Math.sqrt(v))
  while (s * s > v) s--
  while ((s + 1) * (s + 1) <= v) s++
  return s
}

const X = INT16_MAX + 1
/** |n_i · G_i| and s · 2^F stay below 2^51, so roundDiv's 2a + b stays below 2^53. */
const BOUND = 2 ** 51

function normFloat(x: FloatTensor, gamma: FloatTensor, beta: FloatTensor | undefined, eps: number, center: boolean): FloatTensor {
  const d = x.shape.at(-1) as number
  const rows = x.data.length / d
  const out = floatTensor([...x.shape])
  for (let r = 0; r < rows; r++) {
    let mean = 0
    if (center) {
      for (let j = 0; j < d; j++) mean += x.data[r * d + j] as number
      mean /= d
    }
    let v = 0
    for (let j = 0; j < d; j++) v += ((x.data[r * d + j] as number) - mean) ** 2
    const inv = 1 / Math.sqrt(v / d + eps)
    for (let j = 0; j < d; j++) {
      const g = gamma.data[gamma.data.length === 1 ? 0 : j] as number
      const b = beta ? (beta.data[beta.data.length === 1 ? 0 : j] as number) : 0
      out.data[r * d + j] = ((x.data[r * d + j] as number) - mean) * inv * g + b
    }
  }
  return out
}

function normOnnx(center: boolean): OnnxOp {
  const opType = center ? 'LayerNormalization' : 'RMSNormalization'
  return {
    resolve(node, ctx) {
      const x = node.inputs[0] as string
      const shape = ctx.shape(x)
      const axis = normalizeAxis(attrInt(node, 'axis', -1), shape.length)
      if (axis !== shape.length - 1) throw new UnsupportedOpError(opType, node.name, 'normalization over axes other than the last')
      const d = shape[axis] as number
      for (const name of node.inputs.slice(1)) {
        if (!name) continue
        const c = ctx.constant(name)
        if (!c) throw new UnsupportedOpError(opType, node.name, 'scale and bias must be constant')
        if (c.data.length !== d && c.data.length !== 1)
          throw new UnsupportedOpError(opType, node.name, 'scale and bias must be [D] vectors')
      }
      if (node.outputs.slice(1).some((o) => o !== '')) throw new UnsupportedOpError(opType, node.name, 'mean and inverse deviation outputs')
      return { attrs: { epsilon: attrFloat(node, 'epsilon', center ? 1e-5 : 1e-5) }, shape }
    },
    evalFloat: (node, [x, g, b]) => normFloat(x as FloatTensor, g as FloatTensor, b, num(node.attrs, 'epsilon'), center),
    quantize(node, q) {
      const [x, g, b] = node.inputs as [string, string, string?]
      const d = q.shape(x).at(-1) as number
      const sx = q.scaleOf(x)
      const sy = q.calibratedScale(node.output)
      const gamma = q.constant(g) as FloatTensor
      const beta = b ? q.constant(b) : undefined
      const e = Math.max(1, Math.round((num(node.attrs, 'epsilon') * d * d) / (sx * sx)))
      const tMax = d * d * X * X + e
      if (tMax >= 2 ** 52)
        throw new QuantizationError(`${opType} row too wide or epsilon too large for exact integers`, { node: node.name, d, e })
      const sMax = isqrt(tMax) + 1
      const gs = Array.from({ length: d }, (_, j) => (gamma.data[gamma.data.length === 1 ? 0 : j] as number) / sy)
      const gMax = Math.max(...gs.map(Math.abs), 1e-300)
      const nMax = 2 * d * X
      // Largest F with |G| · nMax < 2^51, s · 2^F < 2^51 and |G| ≤ int32.
      let f = 0
      while (f < 52 && gMax * 2 ** (f + 1) * nMax < BOUND && sMax * 2 ** (f + 1) < BOUND && gMax * 2 ** (f + 1) <= INT32_MAX) f++
      const G = gs.map((v) => Math.round(v * 2 ** f))
      const B = Array.from({ length: d }, (_, j) => (beta ? Math.round((beta.data[beta.data.length === 1 ? 0 : j] as number) / sy) : 0))
      if (B.some((v) => Math.abs(v) > INT32_MAX)) throw new QuantizationError(`${opType} bias does not fit int32`, { node: node.name })
      return {
        op: 'Norm',
        inputs: [q.activation(x), q.addConst(`${node.name}.gamma`, 'int32', [d], G), q.addConst(`${node.name}.beta`, 'int32', [d], B)],
        attrs: { center: center ? 1 : 0, e, f },
        outScale: sy,
      }
    },
  }
}

export const layerNormOnnx = normOnnx(true)
export const rmsNormOnnx = normOnnx(false)

/** roundDiv(a, b) = floor((2a + b) / 2b) for b > 0 (round half up). */
function roundDivExact(a: number, b: number): number {
  return floorDiv(2 * a + b, 2 * b)
}

/** One row's statistics: the divisor s · 2^F and the row sum S1 (0 without centering). */
function rowStats(d: number, center: number, e: number, f: number, at: (j: number) => number): { div: number; s1: number } {
  let s1 = 0
  let s2 = 0
  for (let j = 0; j < d; j++) {
    const v = at(j)
    s1 += v
    s2 += v * v
  }
  const t = center ? d * s2 - s1 * s1 + e : d * s2 + e
  return { div: isqrt(t) * 2 ** f, s1: center ? s1 : 0 }
}

/** Integer Norm over the last axis (see normOnnx). Inputs X int16, G int32 [D], B int32 [D]. */
export const normInt: IntOp = {
  run(node, [x, g, b]) {
    const xs = x as Int16Array
    const gs = g as Int32Array
    const bs = b as Int32Array
    const d = node.outShape.at(-1) as number
    const { center, e, f } = node.attrs as { center: number; e: number; f: number }
    const out = new Int16Array(xs.length)
    const rows = xs.length / d
    for (let r = 0; r < rows; r++) {
      const o = r * d
      const { div, s1 } = rowStats(d, center, e, f, (j) => xs[o + j] as number)
      for (let j = 0; j < d; j++)
        out[o + j] = sat16(roundDivExact((d * (xs[o + j] as number) - s1) * (gs[j] as number), div) + (bs[j] as number))
    }
    return out
  },
  evalOne(node, i, read) {
    const d = node.outShape.at(-1) as number
    const { center, e, f } = node.attrs as { center: number; e: number; f: number }
    const o = i - (i % d)
    const j = i % d
    const { div, s1 } = rowStats(d, center, e, f, (k) => read(0, o + k))
    return sat16(roundDivExact((d * read(0, i) - s1) * read(1, j), div) + read(2, j))
  },
}

/**
 * Pow, ReduceMean and Sqrt are accepted only as parts of a normalization the importer fuses into
 * `Norm` (RMSNorm as exported by PyTorch); left over, they are unsupported at that node.
 */
function floatOnly(opType: string, resolve: OnnxOp['resolve'], evalFloat: OnnxOp['evalFloat']): OnnxOp {
  return {
    resolve,
    evalFloat,
    quantize(node) {
      throw new UnsupportedOpError(opType, node.name, 'only supported inside a normalization pattern (x · 1/√(mean(x²) + ε))')
    },
  }
}

export const powOnnx = floatOnly(
  'Pow',
  (node, ctx) => {
    const e = ctx.constant(node.inputs[1] as string)
    if (e?.data.length !== 1) throw new UnsupportedOpError('Pow', node.name, 'the exponent must be a constant scalar')
    return { attrs: { exponent: e.data[0] as number }, shape: ctx.shape(node.inputs[0] as string), inputs: [node.inputs[0] as string] }
  },
  (node, [x]) => {
    const xt = x as FloatTensor
    return { dtype: xt.dtype, shape: [...xt.shape], data: xt.data.map((v) => v ** num(node.attrs, 'exponent')) }
  },
)

export const sqrtOnnx = floatOnly(
  'Sqrt',
  (node, ctx) => ({ attrs: {}, shape: ctx.shape(node.inputs[0] as string) }),
  (_node, [x]) => {
    const xt = x as FloatTensor
    return { dtype: xt.dtype, shape: [...xt.shape], data: xt.data.map(Math.sqrt) }
  },
)

export const reduceMeanOnnx = floatOnly(
  'ReduceMean',
  (node, ctx) => {
    const shape = ctx.shape(node.inputs[0] as string)
    const axesIn = node.inputs[1] ? ctx.constant(node.inputs[1]) : undefined
    if (node.inputs[1] && !axesIn) throw new UnsupportedOpError('ReduceMean', node.name, 'axes must be constant')
    const raw = axesIn ? Array.from(axesIn.data) : ((node.attrs.get('axes') as number[] | undefined) ?? shape.map((_, i) => i))
    const axes = raw.map((a) => normalizeAxis(a, shape.length)).sort((a, b) => a - b)
    const keep = attrInt(node, 'keepdims', 1)
    const out = keep ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i))
    return { attrs: { axes, keepdims: keep }, shape: out, inputs: [node.inputs[0] as string] }
  },
  (node, [x]) => {
    const xt = x as FloatTensor
    const axes = node.attrs.axes as number[]
    const kept = xt.shape.map((d, i) => (axes.includes(i) ? 1 : d))
    const out = new Float64Array(sizeOf(kept))
    const count = xt.data.length / out.length
    const rank = xt.shape.length
    for (let i = 0; i < xt.data.length; i++) {
      let rest = i
      let o = 0
      let stride = 1
      for (let a = rank - 1; a >= 0; a--) {
        const dim = xt.shape[a] as number
        const c = rest % dim
        rest = (rest - c) / dim
        if (!axes.includes(a)) o += c * stride
        stride *= kept[a] as number
      }
      out[o] = (out[o] as number) + (xt.data[i] as number) / count
    }
    const shape = num(node.attrs, 'keepdims') ? kept : xt.shape.filter((_, i) => !axes.includes(i))
    return { dtype: xt.dtype, shape, data: out }
  },
)
