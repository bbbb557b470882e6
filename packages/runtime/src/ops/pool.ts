import { UnsupportedOpError } from '../errors.js'
import { INT16_MIN, roundDiv } from '../fixedPoint.js'
import type { OnnxNode } from '../onnx/decodeOnnx.js'
import type { FloatTensor } from '../tensor.js'
import { floatTensor, sizeOf } from '../tensor.js'
import type { Attrs, IntNode, IntOp, OnnxOp, ResolveContext } from './types.js'
import { attrInt, attrInts, num } from './types.js'
import type { Window } from './window.js'
import { as4d, resolveWindow, windowAttrs, windowOf } from './window.js'

type PoolKind = 'max' | 'avg'

function poolShape(xShape: readonly number[], w: Window): number[] {
  return xShape.length === 4 ? [xShape[0] as number, xShape[1] as number, w.oh, w.ow] : [xShape[0] as number, xShape[1] as number, w.ow]
}

function resolvePool(node: OnnxNode, ctx: ResolveContext, global: boolean) {
  const x = node.inputs[0] as string
  const xShape = ctx.shape(x)
  if (node.outputs.length > 1 && node.outputs[1] !== '') throw new UnsupportedOpError(node.opType, node.name, 'the Indices output')
  if (xShape.length !== 3 && xShape.length !== 4) throw new UnsupportedOpError(node.opType, node.name, `rank-${xShape.length} input`)
  let win: Window
  if (global) {
    win = resolveWindow({ ...node, attrs: new Map() }, xShape, xShape.slice(2))
  } else {
    const kernel = attrInts(node, 'kernel_shape')
    if (!kernel) throw new UnsupportedOpError(node.opType, node.name, 'missing kernel_shape')
    // With dilations, which padded positions count is not settled across ONNX implementations;
    // counting only the positions inside the input (count_include_pad = 0) is unambiguous.
    const dilated = (attrInts(node, 'dilations') ?? []).some((d) => d !== 1)
    if (node.opType === 'AveragePool' && dilated && attrInt(node, 'count_include_pad', 0) === 1) {
      throw new UnsupportedOpError(node.opType, node.name, 'dilated average pooling with count_include_pad = 1')
    }
    win = resolveWindow(node, xShape, kernel, { ceilMode: attrInt(node, 'ceil_mode', 0) === 1 })
  }
  const [, , h, w] = as4d(xShape)
  if (node.opType !== 'MaxPool' && node.opType !== 'GlobalMaxPool') {
    // An average needs at least one input element in every window (dilation can skip over it).
    const ys = windowRanges(win.oh, h, win.kh, win.sh, win.dh, win.pt, win.pb)
    const xs = windowRanges(win.ow, w, win.kw, win.sw, win.dw, win.pl, win.pr)
    const empty = (r: ReturnType<typeof windowRanges>) => r.lo.some((lo, i) => lo >= (r.hi[i] as number))
    if (empty(ys) || empty(xs)) throw new UnsupportedOpError(node.opType, node.name, 'a window that contains no input element')
  }
  return {
    attrs: { ...windowAttrs(win), h, w, includePad: attrInt(node, 'count_include_pad', 0) } as Attrs,
    shape: poolShape(xShape, win),
    inputs: [x],
  }
}

/**
 * Visits the input positions of one output window; returns the number of positions inside the
 * input, and the number counted when padding is included (positions inside the padded input).
 */
function windowPositions(attrs: Attrs, oy: number, ox: number, visit: (iy: number, ix: number) => void): [number, number] {
  const { kh, kw, sh, sw, dh, dw, pt, pl, pb, pr } = windowOf(attrs)
  const h = num(attrs, 'h')
  const w = num(attrs, 'w')
  let inside = 0
  let padded = 0
  for (let ky = 0; ky < kh; ky++) {
    const iy = oy * sh - pt + ky * dh
    if (iy < -pt || iy >= h + pb) continue
    for (let kx = 0; kx < kw; kx++) {
      const ix = ox * sw - pl + kx * dw
      if (ix < -pl || ix >= w + pr) continue
      padded++
      if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue
      inside++
      visit(iy, ix)
    }
  }
  return [inside, padded]
}

function poolOnnx(kind: PoolKind, global: boolean): OnnxOp {
  return {
    resolve: (node, ctx) => resolvePool(node, ctx, global),
    evalFloat(node, [x]) {
      const xt = x as FloatTensor
      const win = windowOf(node.attrs)
      const out = floatTensor(poolShape(xt.shape, win))
      const [n, c, h, w] = as4d(xt.shape)
      for (let p = 0; p < n * c; p++) {
        for (let oy = 0; oy < win.oh; oy++) {
          for (let ox = 0; ox < win.ow; ox++) {
            let acc = kind === 'max' ? Number.NEGATIVE_INFINITY : 0
            const [inside, padded] = windowPositions(node.attrs, oy, ox, (iy, ix) => {
              const v = xt.data[(p * h + iy) * w + ix] as number
              acc = kind === 'max' ? Math.max(acc, v) : acc + v
            })
            const count = num(node.attrs, 'includePad') === 1 ? padded : inside
            out.data[(p * win.oh + oy) * win.ow + ox] = kind === 'max' ? acc : acc / count
          }
        }
      }
      return out
    },
    quantize(node, q) {
      const x = node.inputs[0] as string
      return { op: kind === 'max' ? 'MaxPool' : 'AveragePool', inputs: [q.activation(x)], attrs: node.attrs, outScale: q.scaleOf(x) }
    },
  }
}

export const maxPoolOnnx = poolOnnx('max', false)
export const averagePoolOnnx = poolOnnx('avg', false)
export const globalAveragePoolOnnx = poolOnnx('avg', true)
export const globalMaxPoolOnnx = poolOnnx('max', true)

function poolOne(kind: PoolKind, node: IntNode, outIndex: number, read: (i: number) => number): number {
  const win = windowOf(node.attrs)
  const h = num(node.attrs, 'h')
  const w = num(node.attrs, 'w')
  const ox = outIndex % win.ow
  const oy = Math.floor(outIndex / win.ow) % win.oh
  const p = Math.floor(outIndex / (win.ow * win.oh))
  let acc = kind === 'max' ? INT16_MIN : 0
  const [inside, padded] = windowPositions(node.attrs, oy, ox, (iy, ix) => {
    const v = read((p * h + iy) * w + ix)
    acc = kind === 'max' ? (v > acc ? v : acc) : acc + v
  })
  if (kind === 'max') return acc
  return roundDiv(acc, num(node.attrs, 'includePad') === 1 ? padded : inside)
}

/**
 * Per output row (or column): the range [lo, hi) of window offsets inside the input, and the number
 * of offsets inside the padded input. Offset k reads input coordinate o·s − p + k·d.
 */
function windowRanges(out: number, size: number, k: number, s: number, d: number, pBegin: number, pEnd: number) {
  const lo = new Int32Array(out)
  const hi = new Int32Array(out)
  const padded = new Int32Array(out)
  for (let o = 0; o < out; o++) {
    let l = k
    let h = 0
    let n = 0
    for (let t = 0; t < k; t++) {
      const i = o * s - pBegin + t * d
      if (i >= -pBegin && i < size + pEnd) n++
      if (i >= 0 && i < size) {
        if (t < l) l = t
        h = t + 1
      }
    }
    lo[o] = l
    hi[o] = Math.max(l, h)
    padded[o] = n
  }
  return { lo, hi, padded }
}

/** The whole-tensor pooling kernel: the definition of poolOne with the window bounds precomputed. */
function poolRun(kind: PoolKind, node: IntNode, xs: Int16Array): Int16Array {
  const { kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, oh, ow } = windowOf(node.attrs)
  const h = num(node.attrs, 'h')
  const w = num(node.attrs, 'w')
  const includePad = num(node.attrs, 'includePad') === 1
  const ys = windowRanges(oh, h, kh, sh, dh, pt, pb)
  const xr = windowRanges(ow, w, kw, sw, dw, pl, pr)
  const out = new Int16Array(sizeOf(node.outShape))
  const planes = out.length / (oh * ow)
  let o = 0
  for (let p = 0; p < planes; p++) {
    const base = p * h * w
    for (let oy = 0; oy < oh; oy++) {
      const y0 = ys.lo[oy] as number
      const y1 = ys.hi[oy] as number
      const rowBase = base + (oy * sh - pt) * w
      for (let ox = 0; ox < ow; ox++) {
        const x0 = xr.lo[ox] as number
        const x1 = xr.hi[ox] as number
        const colBase = rowBase + ox * sw - pl
        if (kind === 'max') {
          let acc = INT16_MIN
          for (let ky = y0; ky < y1; ky++) {
            const r = colBase + ky * dh * w
            for (let kx = x0; kx < x1; kx++) {
              const v = xs[r + kx * dw] as number
              if (v > acc) acc = v
            }
          }
          out[o++] = acc
        } else {
          let acc = 0
          for (let ky = y0; ky < y1; ky++) {
            const r = colBase + ky * dh * w
            for (let kx = x0; kx < x1; kx++) acc += xs[r + kx * dw] as number
          }
          const count = includePad ? (ys.padded[oy] as number) * (xr.padded[ox] as number) : (y1 - y0) * (x1 - x0)
          out[o++] = roundDiv(acc, count)
        }
      }
    }
  }
  return out
}

function poolInt(kind: PoolKind): IntOp {
  return {
    run: (node, [x]) => poolRun(kind, node, x as Int16Array),
    evalOne: (node, i, read) => poolOne(kind, node, i, (k) => read(0, k)),
  }
}

/** Integer MaxPool: the maximum over the window positions inside the input (same scale). */
export const maxPoolInt = poolInt('max')
/** Integer AveragePool: roundDiv(Σ window, count) (same scale). */
export const averagePoolInt = poolInt('avg')
