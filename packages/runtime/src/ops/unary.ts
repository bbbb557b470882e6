import { UnsupportedOpError } from '../errors.js'
import { INT16_MAX, INT16_MIN, quantizeMultiplier, rshift, sat16 } from '../fixedPoint.js'
import type { FloatTensor } from '../tensor.js'
import { floatTensor } from '../tensor.js'
import type { IntOp, OnnxOp } from './types.js'
import { attrFloat, attrString, num } from './types.js'

function mapUnary(x: FloatTensor, f: (v: number) => number): FloatTensor {
  const out = floatTensor([...x.shape])
  for (let i = 0; i < x.data.length; i++) out.data[i] = f(x.data[i] as number)
  return out
}

function sameShape(node: { inputs: string[] }, ctx: { shape(n: string): number[] }) {
  return ctx.shape(node.inputs[0] as string)
}

/** Relu keeps its input's scale: y = max(0, x). */
export const reluOnnx: OnnxOp = {
  resolve: (node, ctx) => ({ attrs: {}, shape: sameShape(node, ctx), inputs: [node.inputs[0] as string] }),
  evalFloat: (_node, [x]) => mapUnary(x as FloatTensor, (v) => (v > 0 ? v : 0)),
  quantize: (node, q) => ({
    op: 'Relu',
    inputs: [q.activation(node.inputs[0] as string)],
    attrs: {},
    outScale: q.scaleOf(node.inputs[0] as string),
  }),
}

export const reluInt: IntOp = {
  run(_node, [x]) {
    const xs = x as Int16Array
    const out = new Int16Array(xs.length)
    for (let i = 0; i < xs.length; i++) {
      const v = xs[i] as number
      out[i] = v > 0 ? v : 0
    }
    return out
  },
  evalOne: (_node, i, read) => Math.max(0, read(0, i)),
}

/** LeakyRelu keeps its input's scale: y = x ≥ 0 ? x : rshift(x · MUL, SHIFT). */
export const leakyReluOnnx: OnnxOp = {
  resolve: (node, ctx) => ({ attrs: { alpha: attrFloat(node, 'alpha', 0.01) }, shape: sameShape(node, ctx) }),
  evalFloat: (node, [x]) => mapUnary(x as FloatTensor, (v) => (v >= 0 ? v : num(node.attrs, 'alpha') * v)),
  quantize(node, q) {
    const x = node.inputs[0] as string
    const alpha = num(node.attrs, 'alpha')
    if (alpha < 0) throw new UnsupportedOpError('LeakyRelu', node.name, 'negative alpha')
    const mult = quantizeMultiplier(alpha, INT16_MAX + 1)
    return {
      op: 'LeakyRelu',
      inputs: [
        q.activation(x),
        q.addConst(`${node.name}.multiplier`, 'int32', [], [mult.m]),
        q.addConst(`${node.name}.shift`, 'int32', [], [mult.s]),
      ],
      attrs: {},
      outScale: q.scaleOf(x),
    }
  },
}

export const leakyReluInt: IntOp = {
  run(node, inputs) {
    const xs = inputs[0] as Int16Array
    const out = new Int16Array(xs.length)
    for (let i = 0; i < xs.length; i++) out[i] = leakyReluInt.evalOne(node, i, (p, k) => (inputs[p] as Int16Array)[k] as number)
    return out
  },
  evalOne(_node, i, read) {
    const v = read(0, i)
    return v >= 0 ? v : sat16(rshift(v * read(1, 0), read(2, 0)))
  },
}

/** Clip keeps its input's scale: y = min(HI, max(LO, x)) with LO, HI quantized bounds (attributes). */
export const clipOnnx: OnnxOp = {
  resolve(node, ctx) {
    const bound = (pos: number, attr: string, fallback: number) => {
      const name = node.inputs[pos]
      if (name) {
        const c = ctx.constant(name)
        if (!c) throw new UnsupportedOpError('Clip', node.name, 'min and max must be constant')
        return c.data[0] as number
      }
      return attrFloat(node, attr, fallback)
    }
    return {
      attrs: { min: bound(1, 'min', Number.NEGATIVE_INFINITY), max: bound(2, 'max', Number.POSITIVE_INFINITY) },
      shape: sameShape(node, ctx),
      inputs: [node.inputs[0] as string],
    }
  },
  evalFloat: (node, [x]) => mapUnary(x as FloatTensor, (v) => Math.min(num(node.attrs, 'max'), Math.max(num(node.attrs, 'min'), v))),
  quantize(node, q) {
    const x = node.inputs[0] as string
    const s = q.scaleOf(x)
    const lo = sat16(Math.max(INT16_MIN, Math.ceil(num(node.attrs, 'min') / s)))
    const hi = sat16(Math.min(INT16_MAX, Math.floor(num(node.attrs, 'max') / s)))
    return { op: 'Clip', inputs: [q.activation(x)], attrs: { lo, hi }, outScale: s }
  },
}

export const clipInt: IntOp = {
  run(node, [x]) {
    const xs = x as Int16Array
    const out = new Int16Array(xs.length)
    for (let i = 0; i < xs.length; i++) out[i] = clipInt.evalOne(node, i, (_p, k) => xs[k] as number)
    return out
  },
  evalOne(node, i, read) {
    return Math.min(num(node.attrs, 'hi'), Math.max(num(node.attrs, 'lo'), read(0, i)))
  },
}

/** Error function (Abramowitz–Stegun 7.1.26 refined by one Newton step is unnecessary here: |ε| < 1.5e-7). */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x))
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x)
  return x >= 0 ? y : -y
}

type UnaryFn = {
  f: (v: number, node: { attrs: Record<string, number | number[]> }) => number
  range?: number
  attrs?: Record<string, number>
}

/** Nonlinear elementwise functions implemented by an interpolated lookup table. */
export const lutFunctions: Record<string, UnaryFn> = {
  Sigmoid: { f: (v) => 1 / (1 + Math.exp(-v)), range: 1 },
  Tanh: { f: (v) => Math.tanh(v), range: 1 },
  Softsign: { f: (v) => v / (1 + Math.abs(v)), range: 1 },
  Softplus: { f: (v) => (v > 30 ? v : Math.log1p(Math.exp(v))) },
  Exp: { f: (v) => Math.exp(v) },
  Erf: { f: erf, range: 1 },
  Abs: { f: (v) => Math.abs(v) },
  Neg: { f: (v) => -v },
  Elu: { f: (v, n) => (v >= 0 ? v : num(n.attrs, 'alpha') * Math.expm1(v)), attrs: { alpha: 1 } },
  Selu: {
    f: (v, n) => num(n.attrs, 'gamma') * (v > 0 ? v : num(n.attrs, 'alpha') * Math.expm1(v)),
    attrs: { alpha: 1.6732632423543772, gamma: 1.0507009873554805 },
  },
  HardSigmoid: {
    f: (v, n) => Math.max(0, Math.min(1, num(n.attrs, 'alpha') * v + num(n.attrs, 'beta'))),
    range: 1,
    attrs: { alpha: 0.2, beta: 0.5 },
  },
  HardSwish: { f: (v) => v * Math.max(0, Math.min(1, v / 6 + 0.5)) },
  /** x · Φ(x) with the exact (erf) form; fused by the importer from x · (erf(x/√2) + 1) · 0.5. */
  Gelu: {
    f: (v, n) =>
      n.attrs.tanh === 1
        ? 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)))
        : 0.5 * v * (1 + erf(v / Math.SQRT2)),
  },
  /** x · sigmoid(x); fused by the importer from x · Sigmoid(x). */
  Silu: { f: (v) => v / (1 + Math.exp(-v)) },
}

/** Table size: 4096 intervals of 16 int16 steps each, plus the closing entry. */
export const LUT_INTERVALS = 4096
export const LUT_STEP_BITS = 4

export function lutOnnx(opType: string): OnnxOp {
  const def = lutFunctions[opType] as UnaryFn
  return {
    resolve(node, ctx) {
      const attrs: Record<string, number> = {}
      for (const [k, v] of Object.entries(def.attrs ?? {})) attrs[k] = attrFloat(node, k, v)
      if (opType === 'Gelu') attrs.tanh = attrString(node, 'approximate', 'none') === 'tanh' ? 1 : 0
      return { attrs, shape: sameShape(node, ctx) }
    },
    evalFloat: (node, [x]) => mapUnary(x as FloatTensor, (v) => def.f(v, node)),
    quantize(node, q) {
      const x = node.inputs[0] as string
      const sx = q.scaleOf(x)
      const sy = def.range !== undefined ? def.range / INT16_MAX : q.calibratedScale(node.output)
      const table = new Int16Array(LUT_INTERVALS + 1)
      for (let k = 0; k <= LUT_INTERVALS; k++) {
        const xq = k * 2 ** LUT_STEP_BITS + INT16_MIN
        table[k] = sat16(Math.round(def.f(xq * sx, node) / sy))
      }
      return {
        op: 'Lut',
        inputs: [q.activation(x), q.addConst(`${node.name}.table`, 'int16', [LUT_INTERVALS + 1], table)],
        attrs: {},
        outScale: sy,
      }
    },
  }
}

/**
 * Integer Lut: u = x + 32768, i = u >> 4, f = u & 15;
 * y = sat16(T[i] + rshift((T[i+1] − T[i]) · f, 4)). Table T int16 [4097].
 */
export const lutInt: IntOp = {
  run(_node, [x, t]) {
    const xs = x as Int16Array
    const table = t as Int16Array
    const out = new Int16Array(xs.length)
    for (let i = 0; i < xs.length; i++) {
      const u = (xs[i] as number) + 32768
      const k = u >> LUT_STEP_BITS
      const lo = table[k] as number
      out[i] = sat16(lo + rshift(((table[k + 1] as number) - lo) * (u & 15), LUT_STEP_BITS))
    }
    return out
  },
  evalOne(_node, i, read) {
    const u = read(0, i) + 32768
    const k = u >> LUT_STEP_BITS
    const lo = read(1, k)
    // The closing entry is only read when the fraction is non-zero (it cannot be, at k = 4096).
    const f = u & 15
    return sat16(lo + (f === 0 ? 0 : rshift((read(1, k + 1) - lo) * f, LUT_STEP_BITS)))
  },
}
