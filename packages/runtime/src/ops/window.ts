import { InvalidModelError, UnsupportedOpError } from '../errors.js'
import type { OnnxNode } from '../onnx/decodeOnnx.js'
import { attrInts, attrString } from './types.js'

/** Geometry of a 2-D sliding window (1-D ops use a height of 1). */
export type Window = {
  kh: number
  kw: number
  sh: number
  sw: number
  dh: number
  dw: number
  pt: number
  pl: number
  pb: number
  pr: number
  oh: number
  ow: number
}

/** The 4-D view [N, C, H, W] of a rank-3 or rank-4 tensor shape. */
export function as4d(shape: readonly number[]): [number, number, number, number] {
  if (shape.length === 4) return shape as [number, number, number, number]
  return [shape[0] as number, shape[1] as number, 1, shape[2] as number]
}

/**
 * Resolves kernel, strides, pads (explicit or auto_pad), dilations and ceil_mode into a Window
 * over the input's spatial dims.
 */
export function resolveWindow(
  node: OnnxNode,
  inShape: readonly number[],
  kernel: readonly number[],
  options: { ceilMode?: boolean } = {},
): Window {
  const spatial = inShape.length - 2
  if (spatial !== 1 && spatial !== 2) {
    throw new UnsupportedOpError(node.opType, node.name, `${spatial}-D windows (only 1-D and 2-D are supported)`)
  }
  const strides = attrInts(node, 'strides') ?? new Array(spatial).fill(1)
  const dilations = attrInts(node, 'dilations') ?? new Array(spatial).fill(1)
  const inDims = inShape.slice(2)
  const autoPad = attrString(node, 'auto_pad', 'NOTSET')
  let pads = attrInts(node, 'pads') ?? new Array(2 * spatial).fill(0)
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = new Array(2 * spatial).fill(0)
    for (let i = 0; i < spatial; i++) {
      const out = Math.ceil((inDims[i] as number) / (strides[i] as number))
      const total = Math.max(
        0,
        (out - 1) * (strides[i] as number) + ((kernel[i] as number) - 1) * (dilations[i] as number) + 1 - (inDims[i] as number),
      )
      const small = Math.floor(total / 2)
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small
      pads[i + spatial] = total - (pads[i] as number)
    }
  } else if (autoPad === 'VALID') {
    pads = new Array(2 * spatial).fill(0)
  }
  const valid = (xs: readonly number[], n: number, min: number) => xs.length === n && xs.every((v) => Number.isSafeInteger(v) && v >= min)
  if (!valid(kernel, spatial, 1) || !valid(strides, spatial, 1) || !valid(dilations, spatial, 1) || !valid(pads, 2 * spatial, 0)) {
    throw new InvalidModelError(`${node.opType} "${node.name}" has invalid window attributes`, {
      node: node.name,
      expected: `${spatial} kernel dims, strides and dilations ≥ 1, ${2 * spatial} pads ≥ 0`,
      found: { kernel, strides, dilations, pads },
    })
  }
  // Every window must overlap the input (ONNX requires pads smaller than the kernel); otherwise
  // an average has no element to divide by.
  for (let i = 0; i < spatial; i++) {
    const span = ((kernel[i] as number) - 1) * (dilations[i] as number) + 1
    if ((pads[i] as number) >= span || (pads[i + spatial] as number) >= span) {
      throw new InvalidModelError(`${node.opType} "${node.name}" has pads not smaller than its window`, {
        node: node.name,
        kernel,
        dilations,
        pads,
      })
    }
  }
  const ceilMode = options.ceilMode ?? false
  const outDims = inDims.map((d, i) => {
    const span = ((kernel[i] as number) - 1) * (dilations[i] as number) + 1
    const padded = d + (pads[i] as number) + (pads[i + spatial] as number) - span
    const s = strides[i] as number
    let o = (ceilMode ? Math.ceil(padded / s) : Math.floor(padded / s)) + 1
    // In ceil mode the last window must start inside the input or its leading padding.
    if (ceilMode && (o - 1) * s >= d + (pads[i] as number)) o -= 1
    return o
  })
  if (outDims.some((o) => o <= 0)) {
    throw new UnsupportedOpError(node.opType, node.name, `window larger than the padded input [${inDims}]`)
  }
  const at = (arr: readonly number[], i: number, dflt: number) => (spatial === 2 ? (arr[i] as number) : i === 0 ? dflt : (arr[0] as number))
  return {
    kh: at(kernel, 0, 1),
    kw: at(kernel, 1, 1),
    sh: at(strides, 0, 1),
    sw: at(strides, 1, 1),
    dh: at(dilations, 0, 1),
    dw: at(dilations, 1, 1),
    pt: spatial === 2 ? (pads[0] as number) : 0,
    pl: spatial === 2 ? (pads[1] as number) : (pads[0] as number),
    pb: spatial === 2 ? (pads[2] as number) : 0,
    pr: spatial === 2 ? (pads[3] as number) : (pads[1] as number),
    oh: spatial === 2 ? (outDims[0] as number) : 1,
    ow: spatial === 2 ? (outDims[1] as number) : (outDims[0] as number),
  }
}

export function windowAttrs(w: Window): Record<string, number> {
  return { ...w }
}

export function windowOf(attrs: Record<string, number | number[]>): Window {
  const g = (k: string) => attrs[k] as number
  return {
    kh: g('kh'),
    kw: g('kw'),
    sh: g('sh'),
    sw: g('sw'),
    dh: g('dh'),
    dw: g('dw'),
    pt: g('pt'),
    pl: g('pl'),
    pb: g('pb'),
    pr: g('pr'),
    oh: g('oh'),
    ow: g('ow'),
  }
}

/** First output row whose window row `k` lands inside [0, H): ih = o·s − p + k·d ≥ 0. */
export function firstValid(p: number, k: number, d: number, s: number): number {
  return Math.max(0, Math.ceil((p - k * d) / s))
}

/** One past the last output row whose window row `k` lands inside [0, H). */
export function endValid(size: number, out: number, p: number, k: number, d: number, s: number): number {
  return Math.min(out, Math.floor((size - 1 + p - k * d) / s) + 1)
}
