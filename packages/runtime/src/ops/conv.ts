import { InvalidModelError, UnsupportedOpError } from '../errors.js'
import { requant } from '../fixedPoint.js'
import { convRequant, paddedWeights, roundUp } from '../kernels/gemm.js'
import type { FloatTensor } from '../tensor.js'
import { floatTensor } from '../tensor.js'
import type { IntOp, OnnxOp } from './types.js'
import { attrInt, num } from './types.js'
import { quantizeBias, quantizeRows, rowMultipliers } from './weights.js'
import type { Window } from './window.js'
import { as4d, endValid, firstValid, resolveWindow, windowAttrs, windowOf } from './window.js'

/**
 * The float64 convolution of the calibration reference (the integer Conv runs in WebAssembly):
 * accumulates the sums (no bias) of x [N,C,H,W] with w [M,C/g,KH,KW] into acc [N,M,OH,OW], as
 * im2col followed by one dot product of length C/g·KH·KW per output value.
 */
export function convAccumulate(
  x: Float64Array,
  xShape: readonly number[],
  w: Float64Array,
  m: number,
  group: number,
  win: Window,
  acc: Float64Array,
): void {
  const [n, c, h, wd] = as4d(xShape)
  const cg = c / group
  const mg = m / group
  const { kh, kw, sh, sw, dh, dw, pt, pl, oh, ow } = win
  const plane = oh * ow
  const k = cg * kh * kw
  const cols = new Float64Array(plane * k)
  for (let b = 0; b < n; b++) {
    for (let g = 0; g < group; g++) {
      // im2col: cols[p · k + (ic · kh + ky) · kw + kx] = x[b, g·cg + ic, iy, ix] (0 outside).
      cols.fill(0)
      for (let ic = 0; ic < cg; ic++) {
        const xBase = (b * c + g * cg + ic) * h * wd
        for (let ky = 0; ky < kh; ky++) {
          for (let kx = 0; kx < kw; kx++) {
            const col = (ic * kh + ky) * kw + kx
            const y0 = firstValid(pt, ky, dh, sh)
            const y1 = endValid(h, oh, pt, ky, dh, sh)
            const x0 = firstValid(pl, kx, dw, sw)
            const x1 = endValid(wd, ow, pl, kx, dw, sw)
            for (let oy = y0; oy < y1; oy++) {
              const row = xBase + (oy * sh - pt + ky * dh) * wd - pl + kx * dw
              for (let ox = x0; ox < x1; ox++) cols[(oy * ow + ox) * k + col] = x[row + ox * sw] as number
            }
          }
        }
      }
      for (let j = 0; j < mg; j++) {
        const oc = g * mg + j
        const wBase = oc * k
        const accBase = (b * m + oc) * plane
        for (let p = 0; p < plane; p++) acc[accBase + p] = dot(cols, p * k, w, wBase, k)
      }
    }
  }
}

/** Σ a[ia + t] · b[ib + t] for t < k, with four accumulators. */
export function dot(a: Float64Array, ia: number, b: Float64Array, ib: number, k: number): number {
  let s0 = 0
  let s1 = 0
  let s2 = 0
  let s3 = 0
  let t = 0
  for (; t + 3 < k; t += 4) {
    s0 += (a[ia + t] as number) * (b[ib + t] as number)
    s1 += (a[ia + t + 1] as number) * (b[ib + t + 1] as number)
    s2 += (a[ia + t + 2] as number) * (b[ib + t + 2] as number)
    s3 += (a[ia + t + 3] as number) * (b[ib + t + 3] as number)
  }
  for (; t < k; t++) s0 += (a[ia + t] as number) * (b[ib + t] as number)
  return s0 + s1 + (s2 + s3)
}

function outShapeOf(xShape: readonly number[], m: number, win: Window): number[] {
  return xShape.length === 4 ? [xShape[0] as number, m, win.oh, win.ow] : [xShape[0] as number, m, win.ow]
}

export const convOnnx: OnnxOp = {
  resolve(node, ctx) {
    const [x, w, b] = node.inputs
    if (!x || !w) throw new InvalidModelError(`Conv "${node.name}" needs inputs X and W`, { node: node.name })
    const wt = ctx.constant(w)
    if (!wt) throw new UnsupportedOpError('Conv', node.name, 'weights must be constant')
    if (b && !ctx.constant(b)) throw new UnsupportedOpError('Conv', node.name, 'bias must be constant')
    const xShape = ctx.shape(x)
    const group = attrInt(node, 'group', 1)
    const m = wt.shape[0] as number
    if (xShape.length !== wt.shape.length || (xShape[1] as number) !== (wt.shape[1] as number) * group || m % group !== 0) {
      throw new InvalidModelError(`Conv "${node.name}" has inconsistent input and weight shapes`, {
        node: node.name,
        input: xShape,
        weights: wt.shape,
        group,
      })
    }
    const win = resolveWindow(node, xShape, wt.shape.slice(2), {})
    return {
      attrs: { group, m, ...windowAttrs(win) },
      shape: outShapeOf(xShape, m, win),
      inputs: b ? [x, w, b] : [x, w],
    }
  },
  evalFloat(node, [x, w, b]) {
    const xt = x as FloatTensor
    const m = num(node.attrs, 'm')
    const win = windowOf(node.attrs)
    const out = floatTensor(outShapeOf(xt.shape, m, win))
    convAccumulate(xt.data, xt.shape, (w as FloatTensor).data, m, num(node.attrs, 'group'), win, out.data)
    if (b) {
      const plane = win.oh * win.ow
      for (let i = 0; i < out.data.length; i++) out.data[i] += b.data[Math.floor(i / plane) % m] as number
    }
    return out
  },
  quantize(node, q) {
    const [x, w, b] = node.inputs as [string, string, string?]
    const wt = q.constant(w) as FloatTensor
    const m = num(node.attrs, 'm')
    const sx = q.scaleOf(x)
    const sy = q.calibratedScale(node.output)
    const { q: wq, scales } = quantizeRows(wt.data, m)
    const bias = quantizeBias(b ? q.constant(b)?.data : undefined, m, (r) => sx * (scales[r] as number))
    const mult = rowMultipliers(wq, bias, m, (r) => (sx * (scales[r] as number)) / sy)
    const wShape = wt.shape.length === 4 ? wt.shape : [m, wt.shape[1] as number, 1, wt.shape[2] as number]
    return {
      op: 'Conv',
      inputs: [
        q.activation(x),
        q.addConst(`${node.name}.weight`, 'int8', wShape, wq),
        q.addConst(`${node.name}.bias`, 'int32', [m], bias),
        q.addConst(`${node.name}.multiplier`, 'int32', [m], mult.m),
        q.addConst(`${node.name}.shift`, 'int32', [m], mult.s),
      ],
      attrs: node.attrs,
      outScale: sy,
    }
  },
}

/**
 * Integer Conv. Inputs: X int16 [N,C,H,W], W int8 [M,C/g,KH,KW], B int32 [M], MUL int32 [M],
 * SHIFT int32 [M]. y = sat16(rshift((Σ x·w + B[m]) · MUL[m], SHIFT[m])).
 */
export const convInt: IntOp = {
  run(node, [x, w, b, mul, sh]) {
    const m = num(node.attrs, 'm')
    const group = num(node.attrs, 'group')
    const win = windowOf(node.attrs)
    const [n, c, h, wd] = as4d(node.inShapes[0] as number[])
    const cg = c / group
    const mg = m / group
    const k = cg * win.kh * win.kw
    const kp = roundUp(k, 8)
    const plane = win.oh * win.ow
    const weights = paddedWeights(w as Int8Array, m)
    const xs = x as Int16Array
    const out = new Int16Array(n * m * plane)
    for (let bi = 0; bi < n; bi++) {
      for (let g = 0; g < group; g++) {
        const rows = [g * mg, (g + 1) * mg] as const
        const res = convRequant(
          xs,
          (bi * c + g * cg) * h * wd,
          cg,
          h,
          wd,
          win,
          weights.subarray(rows[0] * kp, rows[1] * kp),
          mg,
          kp,
          (b as Int32Array).subarray(...rows),
          (mul as Int32Array).subarray(...rows),
          (sh as Int32Array).subarray(...rows),
        )
        const p4 = roundUp(plane, 4)
        for (let j = 0; j < mg; j++) out.set(res.subarray(j * p4, j * p4 + plane), (bi * m + rows[0] + j) * plane)
      }
    }
    return out
  },
  evalOne(node, outIndex, read) {
    const m = num(node.attrs, 'm')
    const group = num(node.attrs, 'group')
    const { kh, kw, sh, sw, dh, dw, pt, pl, oh, ow } = windowOf(node.attrs)
    const [, c, h, wd] = as4d(node.inShapes[0] as number[])
    const cg = c / group
    const ox = outIndex % ow
    const oy = Math.floor(outIndex / ow) % oh
    const oc = Math.floor(outIndex / (ow * oh)) % m
    const b = Math.floor(outIndex / (ow * oh * m))
    const g = Math.floor(oc / (m / group))
    let acc = read(2, oc)
    for (let ic = 0; ic < cg; ic++) {
      for (let ky = 0; ky < kh; ky++) {
        const iy = oy * sh - pt + ky * dh
        if (iy < 0 || iy >= h) continue
        for (let kx = 0; kx < kw; kx++) {
          const ix = ox * sw - pl + kx * dw
          if (ix < 0 || ix >= wd) continue
          acc += read(0, ((b * c + g * cg + ic) * h + iy) * wd + ix) * read(1, ((oc * cg + ic) * kh + ky) * kw + kx)
        }
      }
    }
    return requant(acc, read(3, oc), read(4, oc))
  },
}
