import { INT16_MAX, quantizeMultiplier, rshift, sat16 } from '../fixedPoint.js'
import type { FloatTensor } from '../tensor.js'
import { floatTensor, sizeOf } from '../tensor.js'
import type { IntNode, IntOp, OnnxOp } from './types.js'
import { attrFloat, attrInt, num } from './types.js'

/** Mantissa bits of the bucketed sum of squares used to index the LRN table. */
export const LRN_MANTISSA_BITS = 8

/**
 * Bucket of a non-negative integer q: q itself below 256; otherwise, with e = bitlength(q) − 8,
 * 256 + (e − 1)·128 + ((q >> e) − 128). Buckets have a relative width of at most 1/128.
 */
export function lrnBucket(q: number): number {
  if (q < 256) return q
  let e = 1
  while (q >= 2 ** (e + LRN_MANTISSA_BITS)) e++
  return 256 + (e - 1) * 128 + (Math.floor(q / 2 ** e) - 128)
}

/** The [lo, hi) range of sums of squares that fall into bucket b. */
function bucketRange(b: number): [number, number] {
  if (b < 256) return [b, b + 1]
  const e = Math.floor((b - 256) / 128) + 1
  const mant = ((b - 256) % 128) + 128
  return [mant * 2 ** e, (mant + 1) * 2 ** e]
}

function channelWindow(size: number, c: number, channels: number): [number, number] {
  const lo = Math.max(0, c - Math.floor((size - 1) / 2))
  const hi = Math.min(channels - 1, c + Math.ceil((size - 1) / 2))
  return [lo, hi]
}

export const lrnOnnx: OnnxOp = {
  resolve(node, ctx) {
    const shape = ctx.shape(node.inputs[0] as string)
    return {
      attrs: {
        size: attrInt(node, 'size', 1),
        alpha: attrFloat(node, 'alpha', 1e-4),
        beta: attrFloat(node, 'beta', 0.75),
        bias: attrFloat(node, 'bias', 1),
        c: shape[1] as number,
        plane: sizeOf(shape.slice(2)),
      },
      shape,
    }
  },
  evalFloat(node, [x]) {
    const xt = x as FloatTensor
    const { size, alpha, beta, bias, c, plane } = node.attrs as Record<string, number>
    const out = floatTensor([...xt.shape])
    for (let i = 0; i < xt.data.length; i++) {
      const ch = Math.floor(i / plane) % (c as number)
      const [lo, hi] = channelWindow(size as number, ch, c as number)
      let sq = 0
      for (let k = lo; k <= hi; k++) sq += (xt.data[i + (k - ch) * (plane as number)] as number) ** 2
      out.data[i] = (xt.data[i] as number) / ((bias as number) + ((alpha as number) / (size as number)) * sq) ** (beta as number)
    }
    return out
  },
  quantize(node, q) {
    const x = node.inputs[0] as string
    const { size, alpha, beta, bias } = node.attrs as Record<string, number>
    const sx = q.scaleOf(x)
    const sy = q.calibratedScale(node.output)
    const g = (sq: number) => ((bias as number) + ((alpha as number) / (size as number)) * sx * sx * sq) ** -(beta as number)
    const maxSq = (size as number) * 2 ** 30
    const buckets = lrnBucket(maxSq) + 1
    const ratios = Array.from({ length: buckets }, (_, b) => {
      const [lo, hi] = bucketRange(b)
      return (sx / sy) * g((lo + hi - 1) / 2)
    })
    const { s } = quantizeMultiplier(Math.max(...ratios), INT16_MAX + 1)
    return {
      op: 'LRN',
      inputs: [
        q.activation(x),
        q.addConst(
          `${node.name}.table`,
          'int32',
          [buckets],
          ratios.map((r) => Math.round(r * 2 ** s)),
        ),
        q.addConst(`${node.name}.shift`, 'int32', [], [s]),
      ],
      attrs: { size: size as number, c: num(node.attrs, 'c'), plane: num(node.attrs, 'plane') },
      outScale: sy,
    }
  },
}

function lrnOne(node: IntNode, i: number, read: (input: number, index: number) => number): number {
  const size = num(node.attrs, 'size')
  const c = num(node.attrs, 'c')
  const plane = num(node.attrs, 'plane')
  const ch = Math.floor(i / plane) % c
  const [lo, hi] = channelWindow(size, ch, c)
  let sq = 0
  for (let k = lo; k <= hi; k++) {
    const v = read(0, i + (k - ch) * plane)
    sq += v * v
  }
  return sat16(rshift(read(0, i) * read(1, lrnBucket(sq)), read(2, 0)))
}

/**
 * Integer LRN: q = Σ x_k² over the channel window, y = sat16(rshift(x · T[bucket(q)], SHIFT)),
 * T int32 the tabulated (bias + α/size · s_x² · q)^−β · s_x / s_y · 2^SHIFT.
 */
export const lrnInt: IntOp = {
  run(node, inputs) {
    const out = new Int16Array(sizeOf(node.outShape))
    const read = (p: number, k: number) => (inputs[p] as Int16Array | Int32Array)[k] as number
    for (let i = 0; i < out.length; i++) out[i] = lrnOne(node, i, read)
    return out
  },
  evalOne: lrnOne,
}
