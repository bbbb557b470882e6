import { InvalidModelError, QuantizationError, UnsupportedOpError } from '../errors.js'
import { INT16_MAX, quantizeMultiplier, quantizeMultipliers, requant, rshift, sat16 } from '../fixedPoint.js'
import type { FloatTensor } from '../tensor.js'
import { broadcastIndex, broadcastIndexMap, broadcastShapes, floatTensor, sizeOf } from '../tensor.js'
import type { IntOp, OnnxOp } from './types.js'
import { attrFloat, num } from './types.js'
import { INT32_MAX } from './weights.js'

function broadcastAll(shapes: number[][], name: string): number[] {
  let out: number[] | undefined = shapes[0] as number[]
  for (const s of shapes.slice(1)) {
    out = out && broadcastShapes(out, s)
  }
  if (!out) throw new InvalidModelError(`Node "${name}" has input shapes that do not broadcast`, { node: name, shapes })
  return out
}

function mapFloat(inputs: FloatTensor[], name: string, f: (vals: number[]) => number): FloatTensor {
  const shape = broadcastAll(
    inputs.map((t) => t.shape),
    name,
  )
  // Shape arithmetic on integer constants stays integer (and Div truncates, as ONNX does).
  const integral = inputs.every((t) => t.dtype === 'int64' || t.dtype === 'int32')
  const out = floatTensor(shape, undefined, integral ? (inputs[0] as FloatTensor).dtype : 'float32')
  const maps = inputs.map((t) => broadcastIndexMap(shape, t.shape))
  const vals = new Array<number>(inputs.length)
  for (let i = 0; i < out.data.length; i++) {
    for (let k = 0; k < inputs.length; k++) vals[k] = (inputs[k] as FloatTensor).data[(maps[k] as Int32Array)[i] as number] as number
    out.data[i] = integral ? Math.trunc(f(vals)) : f(vals)
  }
  return out
}

/** Add, Sub and Sum all become the integer `Add`: y = sat16(rshift(Σ x_i · MUL[i], SHIFT)). */
function linearCombination(signs: (n: number) => number[]): OnnxOp {
  return {
    resolve(node, ctx) {
      if (node.inputs.length === 0) throw new InvalidModelError(`Node "${node.name}" has no inputs`, { node: node.name })
      return { attrs: {}, shape: broadcastAll(node.inputs.map(ctx.shape), node.name) }
    },
    evalFloat(node, inputs) {
      const sg = signs(inputs.length)
      return mapFloat(inputs, node.name, (v) => v.reduce((acc, x, i) => acc + (sg[i] as number) * x, 0))
    },
    quantize(node, q) {
      const ops = node.inputs.map((name) => q.operand(node, name))
      const sy = q.calibratedScale(node.output)
      const sg = signs(ops.length)
      const { m, s } = quantizeMultipliers(
        ops.map((o, i) => ((sg[i] as number) * o.scale) / sy),
        INT16_MAX + 1,
      )
      return {
        op: 'Add',
        inputs: [
          ...ops.map((o) => o.id),
          q.addConst(`${node.name}.multiplier`, 'int32', [ops.length], m),
          q.addConst(`${node.name}.shift`, 'int32', [], [s]),
        ],
        attrs: { n: ops.length },
        outScale: sy,
      }
    },
  }
}

export const addOnnx = linearCombination(() => [1, 1])
export const subOnnx = linearCombination(() => [1, -1])
export const sumOnnx = linearCombination((n) => new Array(n).fill(1))

/** Integer Add: y = sat16(rshift(Σ_i x_i[bcast] · MUL[i], SHIFT)). Inputs X_1..X_n, MUL [n], SHIFT. */
export const addInt: IntOp = {
  run(node, inputs) {
    const n = num(node.attrs, 'n')
    const out = new Int16Array(sizeOf(node.outShape))
    const mul = inputs[n] as Int32Array
    const s = (inputs[n + 1] as Int32Array)[0] as number
    const maps = node.inShapes.slice(0, n).map((shape) => broadcastIndexMap(node.outShape, shape))
    for (let i = 0; i < out.length; i++) {
      let acc = 0
      for (let k = 0; k < n; k++) acc += ((inputs[k] as Int16Array)[(maps[k] as Int32Array)[i] as number] as number) * (mul[k] as number)
      out[i] = sat16(rshift(acc, s))
    }
    return out
  },
  evalOne(node, outIndex, read) {
    const n = num(node.attrs, 'n')
    let acc = 0
    for (let k = 0; k < n; k++) acc += read(k, broadcastIndex(node.outShape, node.inShapes[k] as number[], outIndex)) * read(n, k)
    return sat16(rshift(acc, read(n + 1, 0)))
  },
}

/** Mul (and Div by a constant) become the integer `Mul`: y = sat16(rshift(a · b · MUL, SHIFT)). */
function product(reciprocal: boolean): OnnxOp {
  return {
    resolve(node, ctx) {
      const [a, b] = node.inputs as [string, string]
      return { attrs: {}, shape: broadcastAll([ctx.shape(a), ctx.shape(b)], node.name) }
    },
    evalFloat(node, inputs) {
      return mapFloat(inputs, node.name, ([a, b]) => (reciprocal ? (a as number) / (b as number) : (a as number) * (b as number)))
    },
    quantize(node, q) {
      const [a, b] = node.inputs as [string, string]
      const qa = q.operand(node, a)
      let qb: { id: number; scale: number }
      if (reciprocal) {
        const c = q.constant(b)
        if (!c) throw new UnsupportedOpError('Div', node.name, 'the divisor must be constant (outside a fused normalization)')
        qb = q.constActivation(`${node.name}.${b}`, { ...c, data: c.data.map((v) => 1 / v) })
      } else {
        qb = q.operand(node, b)
      }
      const sy = q.calibratedScale(node.output)
      const mult = quantizeMultiplier((qa.scale * qb.scale) / sy, (INT16_MAX + 1) ** 2)
      return {
        op: 'Mul',
        inputs: [
          qa.id,
          qb.id,
          q.addConst(`${node.name}.multiplier`, 'int32', [], [mult.m]),
          q.addConst(`${node.name}.shift`, 'int32', [], [mult.s]),
        ],
        attrs: {},
        outScale: sy,
      }
    },
  }
}

export const mulOnnx = product(false)
export const divOnnx = product(true)

/** Integer Mul: y = sat16(rshift(a[bcast] · b[bcast] · MUL, SHIFT)). */
export const mulInt: IntOp = {
  run(node, [a, b, mul, sh]) {
    const out = new Int16Array(sizeOf(node.outShape))
    const ma = broadcastIndexMap(node.outShape, node.inShapes[0] as number[])
    const mb = broadcastIndexMap(node.outShape, node.inShapes[1] as number[])
    const m = mul?.[0] as number
    const s = sh?.[0] as number
    for (let i = 0; i < out.length; i++) out[i] = requant((a?.[ma[i] as number] as number) * (b?.[mb[i] as number] as number), m, s)
    return out
  },
  evalOne(node, outIndex, read) {
    const a = read(0, broadcastIndex(node.outShape, node.inShapes[0] as number[], outIndex))
    const b = read(1, broadcastIndex(node.outShape, node.inShapes[1] as number[], outIndex))
    return requant(a * b, read(2, 0), read(3, 0))
  },
}

/** Per-channel affine y = a_c · x + b_c of a standalone BatchNormalization (inference mode). */
function bnCoefficients(inputs: FloatTensor[], eps: number): { a: Float64Array; b: Float64Array } {
  const [, scale, bias, mean, variance] = inputs as [FloatTensor, FloatTensor, FloatTensor, FloatTensor, FloatTensor]
  const c = scale.data.length
  const a = new Float64Array(c)
  const b = new Float64Array(c)
  for (let i = 0; i < c; i++) {
    a[i] = (scale.data[i] as number) / Math.sqrt((variance.data[i] as number) + eps)
    b[i] = (bias.data[i] as number) - (a[i] as number) * (mean.data[i] as number)
  }
  return { a, b }
}

export const batchNormOnnx: OnnxOp = {
  resolve(node, ctx) {
    if (node.inputs.length < 5 || node.inputs.slice(1).some((n) => !ctx.constant(n))) {
      throw new UnsupportedOpError('BatchNormalization', node.name, 'scale, bias, mean and variance must be constant')
    }
    if (node.outputs.length > 1 && node.outputs.slice(1).some((o) => o !== '')) {
      throw new UnsupportedOpError('BatchNormalization', node.name, 'training mode outputs')
    }
    // Before opset 9, spatial = 0 meant per-activation statistics ([C, H, W], not [C]).
    const channels = ctx.shape(node.inputs[0] as string)[1]
    if (node.inputs.slice(1, 5).some((n) => sizeOf((ctx.constant(n) as FloatTensor).shape) !== channels)) {
      throw new UnsupportedOpError('BatchNormalization', node.name, 'statistics that are not one value per channel (spatial = 0)')
    }
    return { attrs: { epsilon: attrFloat(node, 'epsilon', 1e-5) }, shape: ctx.shape(node.inputs[0] as string) }
  },
  evalFloat(node, inputs) {
    const x = inputs[0] as FloatTensor
    const { a, b } = bnCoefficients(inputs, num(node.attrs, 'epsilon'))
    const c = a.length
    const plane = sizeOf(x.shape.slice(2))
    const out = floatTensor([...x.shape])
    for (let i = 0; i < x.data.length; i++) {
      const ch = Math.floor(i / plane) % c
      out.data[i] = (a[ch] as number) * (x.data[i] as number) + (b[ch] as number)
    }
    return out
  },
  quantize(node, q) {
    const x = node.inputs[0] as string
    const { a, b } = bnCoefficients(
      node.inputs.map((n) => q.constant(n) as FloatTensor),
      num(node.attrs, 'epsilon'),
    )
    const sx = q.scaleOf(x)
    const sy = q.calibratedScale(node.output)
    // One shift for all channels, sized by the largest |MUL| · 32768 + |ADD|.
    const largest = Math.max(...Array.from(a, (v) => (Math.abs(v) * sx) / sy))
    const addMax = Math.max(...Array.from(b, (v) => Math.abs(v) / sy))
    let { s } = quantizeMultiplier(Math.max(largest, 1e-30), INT16_MAX + 1 + addMax / Math.max(largest, 1e-30))
    // ADD is stored as int32 too, and |b| / s_y can exceed |a| · s_x / s_y by orders of magnitude:
    // lower the shift until it fits (MUL keeps ≥ 16 significant bits unless |b| ≫ |a| · max|x|).
    while (s > 0 && Math.round(addMax * 2 ** s) > INT32_MAX) s--
    if (Math.round(addMax * 2 ** s) > INT32_MAX) {
      throw new QuantizationError('A BatchNormalization offset does not fit in int32 at the output scale', {
        node: node.name,
        offset: addMax,
      })
    }
    let mul = Array.from(a, (v) => Math.round(((v * sx) / sy) * 2 ** s))
    let add = Array.from(b, (v) => Math.round((v / sy) * 2 ** s))
    // Rounding MUL and ADD separately can cross the bound by a unit: re-check it on the integers.
    while (s > 0 && mul.some((m, i) => (INT16_MAX + 1) * Math.abs(m) + Math.abs(add[i] as number) >= 2 ** 52)) {
      s--
      mul = Array.from(a, (v) => Math.round(((v * sx) / sy) * 2 ** s))
      add = Array.from(b, (v) => Math.round((v / sy) * 2 ** s))
    }
    return {
      op: 'ChannelAffine',
      inputs: [
        q.activation(x),
        q.addConst(`${node.name}.multiplier`, 'int32', [a.length], mul),
        q.addConst(`${node.name}.add`, 'int32', [a.length], add),
        q.addConst(`${node.name}.shift`, 'int32', [], [s]),
      ],
      attrs: { c: a.length, plane: sizeOf(q.shape(x).slice(2)) },
      outScale: sy,
    }
  },
}

/** Integer ChannelAffine: y = sat16(rshift(x · MUL[c] + ADD[c], SHIFT)), c the channel (axis 1). */
export const channelAffineInt: IntOp = {
  run(node, [x, mul, add, sh]) {
    const out = new Int16Array(sizeOf(node.outShape))
    const c = num(node.attrs, 'c')
    const plane = num(node.attrs, 'plane')
    const s = sh?.[0] as number
    for (let i = 0; i < out.length; i++) {
      const ch = Math.floor(i / plane) % c
      out[i] = sat16(rshift((x?.[i] as number) * (mul?.[ch] as number) + (add?.[ch] as number), s))
    }
    return out
  },
  evalOne(node, outIndex, read) {
    const ch = Math.floor(outIndex / num(node.attrs, 'plane')) % num(node.attrs, 'c')
    return sat16(rshift(read(0, outIndex) * read(1, ch) + read(2, ch), read(3, 0)))
  },
}
