import { InvalidModelError, UnsupportedOpError } from '../errors.js'
import { INT16_MAX, INT16_MIN, sat16 } from '../fixedPoint.js'
import type { FloatTensor } from '../tensor.js'
import { broadcastIndex, broadcastShapes, normalizeAxis, sizeOf, stridesOf } from '../tensor.js'
import type { IntOp, OnnxOp } from './types.js'
import { attrInt, num, nums } from './types.js'

/**
 * Ops that select values without arithmetic: Gather (embeddings, and constant picks from an
 * activation), Slice (and Split, rewritten to Slices at import), Tile, Expand, and Where with a
 * constant condition (`MaskFill`, the causal mask). Each output value is one input value (or a
 * constant), so each keeps its input's scale.
 */

// ---------------------------------------------------------------- Gather

/** The flat source index of Gather output `i`, or -1 when the index is out of range. */
function gatherSource(dataShape: readonly number[], nIdx: number, axis: number, i: number, index: (q: number) => number): number {
  const dim = dataShape[axis] as number
  const inner = sizeOf(dataShape.slice(axis + 1))
  const o = Math.floor(i / (nIdx * inner))
  const q = Math.floor(i / inner) % nIdx
  const t = i % inner
  let j = index(q)
  if (j < 0) j += dim
  if (j < 0 || j >= dim) return -1
  return (o * dim + j) * inner + t
}

export const gatherOnnx: OnnxOp = {
  resolve(node, ctx) {
    const [data, idx] = node.inputs as [string, string]
    const ds = ctx.shape(data)
    const axis = normalizeAxis(attrInt(node, 'axis', 0), ds.length)
    if (axis < 0 || axis >= ds.length) throw new InvalidModelError(`Gather "${node.name}" axis is out of range`, { node: node.name, axis })
    return { attrs: { axis }, shape: [...ds.slice(0, axis), ...ctx.shape(idx), ...ds.slice(axis + 1)] }
  },
  evalFloat(node, [data, idx]) {
    const d = data as FloatTensor
    const ix = idx as FloatTensor
    const axis = num(node.attrs, 'axis')
    const shape = [...d.shape.slice(0, axis), ...ix.shape, ...d.shape.slice(axis + 1)]
    const out = new Float64Array(sizeOf(shape))
    for (let i = 0; i < out.length; i++) {
      const src = gatherSource(d.shape, ix.data.length, axis, i, (q) => ix.data[q] as number)
      out[i] = src < 0 ? 0 : (d.data[src] as number)
    }
    return { dtype: d.dtype, shape, data: out }
  },
  quantize(node, q) {
    const [data, idx] = node.inputs as [string, string]
    const d = q.operand(node, data)
    const c = q.constant(idx)
    let idxId: number
    if (c) {
      idxId = q.addConst(`${node.name}.indices`, 'int32', c.shape, c.data)
    } else {
      if (q.scaleOf(idx) !== 1) throw new UnsupportedOpError('Gather', node.name, 'indices must be integer inputs (token ids) or constants')
      idxId = q.activation(idx)
    }
    return { op: 'Gather', inputs: [d.id, idxId], attrs: { axis: num(node.attrs, 'axis') }, outScale: d.scale }
  },
}

/**
 * Integer Gather along `axis`: y[o, q, t] = X[o, j, t] with j = IDX[q] (+ dim when negative),
 * and 0 when j is outside [0, dim). X int16; IDX an int16 input of token ids or an int32 constant.
 */
export const gatherInt: IntOp = {
  run(node, [x, idx]) {
    const xs = x as Int16Array
    const ix = idx as Int16Array | Int32Array
    const shape = node.inShapes[0] as number[]
    const axis = num(node.attrs, 'axis')
    const dim = shape[axis] as number
    const inner = sizeOf(shape.slice(axis + 1))
    const outer = sizeOf(shape.slice(0, axis))
    const out = new Int16Array(sizeOf(node.outShape))
    let k = 0
    for (let o = 0; o < outer; o++) {
      for (let q = 0; q < ix.length; q++) {
        let j = ix[q] as number
        if (j < 0) j += dim
        if (j < 0 || j >= dim) {
          k += inner
          continue
        }
        out.set(xs.subarray((o * dim + j) * inner, (o * dim + j + 1) * inner), k)
        k += inner
      }
    }
    return out
  },
  evalOne(node, i, read) {
    const shape = node.inShapes[0] as number[]
    const src = gatherSource(shape, sizeOf(node.inShapes[1] as number[]), num(node.attrs, 'axis'), i, (q) => read(1, q))
    return src < 0 ? 0 : read(0, src)
  },
}

// ---------------------------------------------------------------- Slice, Split

/** ONNX Slice bounds for one axis: the normalized start and the output length. */
function sliceAxis(start: number, end: number, step: number, dim: number): { start: number; len: number } {
  if (step > 0) {
    const s = Math.min(dim, Math.max(0, start < 0 ? start + dim : start))
    const e = Math.min(dim, Math.max(0, end < 0 ? end + dim : end))
    return { start: s, len: Math.max(0, Math.ceil((e - s) / step)) }
  }
  const s = Math.min(dim - 1, Math.max(-1, start < 0 ? start + dim : start))
  const e = Math.min(dim - 1, Math.max(-1, end < 0 ? end + dim : end))
  return { start: s, len: Math.max(0, Math.ceil((e - s) / step)) }
}

/** Source flat index of output `i` for per-axis starts and steps. */
function sliceSource(
  inShape: readonly number[],
  outShape: readonly number[],
  starts: readonly number[],
  steps: readonly number[],
  i: number,
) {
  const inStrides = stridesOf(inShape)
  let rest = i
  let src = 0
  for (let d = outShape.length - 1; d >= 0; d--) {
    const size = outShape[d] as number
    const c = rest % size
    rest = (rest - c) / size
    src += ((starts[d] as number) + c * (steps[d] as number)) * (inStrides[d] as number)
  }
  return src
}

function constInts(
  node: { inputs: string[]; name: string; opType: string },
  ctx: { constant(n: string): FloatTensor | undefined },
  pos: number,
) {
  const name = node.inputs[pos]
  if (!name) return undefined
  const c = ctx.constant(name)
  if (!c) throw new UnsupportedOpError(node.opType, node.name, `input ${pos} must be constant`)
  return Array.from(c.data)
}

export const sliceOnnx: OnnxOp = {
  resolve(node, ctx) {
    const shape = ctx.shape(node.inputs[0] as string)
    const startsIn = constInts(node, ctx, 1) ?? []
    const endsIn = constInts(node, ctx, 2) ?? []
    const axes = (constInts(node, ctx, 3) ?? startsIn.map((_, i) => i)).map((a) => normalizeAxis(a, shape.length))
    const stepsIn = constInts(node, ctx, 4) ?? startsIn.map(() => 1)
    const starts = shape.map(() => 0)
    const steps = shape.map(() => 1)
    const out = [...shape]
    axes.forEach((a, k) => {
      const step = stepsIn[k] as number
      if (a < 0 || a >= shape.length || step === 0)
        throw new InvalidModelError(`Slice "${node.name}" has a bad axis or step`, { node: node.name })
      const { start, len } = sliceAxis(startsIn[k] as number, endsIn[k] as number, step, shape[a] as number)
      starts[a] = start
      steps[a] = step
      out[a] = len
    })
    return { attrs: { starts, steps, shape: out }, shape: out, inputs: [node.inputs[0] as string] }
  },
  evalFloat(node, [x]) {
    const xt = x as FloatTensor
    const starts = nums(node.attrs, 'starts')
    const steps = nums(node.attrs, 'steps')
    const outShape = [...nums(node.attrs, 'shape')]
    const data = new Float64Array(sizeOf(outShape))
    for (let i = 0; i < data.length; i++) data[i] = xt.data[sliceSource(xt.shape, outShape, starts, steps, i)] as number
    return { dtype: xt.dtype, shape: outShape, data }
  },
  quantize: (node, q) => ({
    op: 'Slice',
    inputs: [q.activation(node.inputs[0] as string)],
    attrs: { starts: nums(node.attrs, 'starts'), steps: nums(node.attrs, 'steps') },
    outScale: q.scaleOf(node.inputs[0] as string),
  }),
}

/** Integer Slice: y[c] = x[STARTS + c · STEPS] per axis (the output shape gives the extent). */
export const sliceInt: IntOp = {
  run(node, [x]) {
    const xs = x as Int16Array
    const out = new Int16Array(sizeOf(node.outShape))
    const inShape = node.inShapes[0] as number[]
    const starts = nums(node.attrs, 'starts')
    const steps = nums(node.attrs, 'steps')
    const rank = inShape.length
    const last = node.outShape[rank - 1] as number
    const inStrides = stridesOf(inShape)
    const rows = out.length / Math.max(1, last)
    const stepLast = (steps[rank - 1] as number) * (inStrides[rank - 1] as number)
    for (let r = 0; r < rows; r++) {
      const base = sliceSource(inShape, node.outShape, starts, steps, r * last)
      for (let c = 0; c < last; c++) out[r * last + c] = xs[base + c * stepLast] as number
    }
    return out
  },
  evalOne: (node, i, read) =>
    read(0, sliceSource(node.inShapes[0] as number[], node.outShape, nums(node.attrs, 'starts'), nums(node.attrs, 'steps'), i)),
}

// ---------------------------------------------------------------- Tile, Expand

function tileSource(inShape: readonly number[], outShape: readonly number[], i: number): number {
  const inStrides = stridesOf(inShape)
  let rest = i
  let src = 0
  for (let d = outShape.length - 1; d >= 0; d--) {
    const size = outShape[d] as number
    const c = rest % size
    rest = (rest - c) / size
    src += (c % (inShape[d] as number)) * (inStrides[d] as number)
  }
  return src
}

export const tileOnnx: OnnxOp = {
  resolve(node, ctx) {
    const shape = ctx.shape(node.inputs[0] as string)
    const reps = constInts(node, ctx, 1) ?? []
    if (reps.length !== shape.length || reps.some((r) => !Number.isInteger(r) || r < 0))
      throw new InvalidModelError(`Tile "${node.name}" repeats do not match the rank`, { node: node.name, repeats: reps })
    const out = shape.map((d, i) => d * (reps[i] as number))
    return { attrs: { shape: out }, shape: out, inputs: [node.inputs[0] as string] }
  },
  evalFloat(node, [x]) {
    const xt = x as FloatTensor
    const shape = nums(node.attrs, 'shape')
    const data = new Float64Array(sizeOf(shape))
    for (let i = 0; i < data.length; i++) data[i] = xt.data[tileSource(xt.shape, shape, i)] as number
    return { dtype: xt.dtype, shape: [...shape], data }
  },
  quantize: (node, q) => ({
    op: 'Tile',
    inputs: [q.activation(node.inputs[0] as string)],
    attrs: {},
    outScale: q.scaleOf(node.inputs[0] as string),
  }),
}

/** Integer Tile: y[c] = x[c mod inShape] per axis. */
export const tileInt: IntOp = {
  run(node, [x]) {
    const xs = x as Int16Array
    const out = new Int16Array(sizeOf(node.outShape))
    const inShape = node.inShapes[0] as number[]
    for (let i = 0; i < out.length; i++) out[i] = xs[tileSource(inShape, node.outShape, i)] as number
    return out
  },
  evalOne: (node, i, read) => read(0, tileSource(node.inShapes[0] as number[], node.outShape, i)),
}

export const expandOnnx: OnnxOp = {
  resolve(node, ctx) {
    const shape = ctx.shape(node.inputs[0] as string)
    const target = constInts(node, ctx, 1) ?? []
    const out = broadcastShapes(shape, target)
    if (!out) throw new InvalidModelError(`Expand "${node.name}" shapes do not broadcast`, { node: node.name, shape, target })
    return { attrs: { shape: out }, shape: out, inputs: [node.inputs[0] as string] }
  },
  evalFloat(node, [x]) {
    const xt = x as FloatTensor
    const shape = nums(node.attrs, 'shape')
    const data = new Float64Array(sizeOf(shape))
    for (let i = 0; i < data.length; i++) data[i] = xt.data[broadcastIndex(shape, xt.shape, i)] as number
    return { dtype: xt.dtype, shape: [...shape], data }
  },
  quantize: (node, q) => ({
    op: 'Expand',
    inputs: [q.activation(node.inputs[0] as string)],
    attrs: {},
    outScale: q.scaleOf(node.inputs[0] as string),
  }),
}

/** Integer Expand: y[i] = x[broadcast(i)] (numpy broadcasting of the input to the output shape). */
export const expandInt: IntOp = {
  run(node, [x]) {
    const xs = x as Int16Array
    const out = new Int16Array(sizeOf(node.outShape))
    const inShape = node.inShapes[0] as number[]
    for (let i = 0; i < out.length; i++) out[i] = xs[broadcastIndex(node.outShape, inShape, i)] as number
    return out
  },
  evalOne: (node, i, read) => read(0, broadcastIndex(node.outShape, node.inShapes[0] as number[], i)),
}

// ---------------------------------------------------------------- Where → MaskFill

export const whereOnnx: OnnxOp = {
  resolve(node, ctx) {
    const shapes = node.inputs.map((n) => ctx.shape(n))
    const out = broadcastShapes(broadcastShapes(shapes[0] as number[], shapes[1] as number[]) ?? [], shapes[2] as number[])
    if (!out) throw new InvalidModelError(`Where "${node.name}" shapes do not broadcast`, { node: node.name, shapes })
    return { attrs: {}, shape: out }
  },
  evalFloat(_node, [c, a, b]) {
    const [ct, at, bt] = [c, a, b] as [FloatTensor, FloatTensor, FloatTensor]
    const shape = broadcastShapes(broadcastShapes(ct.shape, at.shape) ?? [], bt.shape) as number[]
    const data = new Float64Array(sizeOf(shape))
    for (let i = 0; i < data.length; i++) {
      const cond = ct.data[broadcastIndex(shape, ct.shape, i)] as number
      data[i] = (cond !== 0 ? at.data[broadcastIndex(shape, at.shape, i)] : bt.data[broadcastIndex(shape, bt.shape, i)]) as number
    }
    return { dtype: at.dtype, shape, data }
  },
  quantize(node, q) {
    const [c, a, b] = node.inputs as [string, string, string]
    const cond = q.constant(c)
    if (!cond) throw new UnsupportedOpError('Where', node.name, 'the condition must be constant (a mask)')
    const ca = q.constant(a)
    const cb = q.constant(b)
    if ((ca && cb) || (!ca && !cb)) throw new UnsupportedOpError('Where', node.name, 'exactly one of X and Y must be an activation')
    const fillT = (ca ?? cb) as FloatTensor
    const fillValue = fillT.data[0] as number
    if (fillT.data.some((v) => v !== fillValue)) throw new UnsupportedOpError('Where', node.name, 'the constant branch must be one value')
    const act = ca ? b : a
    const scale = q.scaleOf(act)
    const fill =
      fillValue === Number.NEGATIVE_INFINITY
        ? INT16_MIN
        : fillValue === Number.POSITIVE_INFINITY
          ? INT16_MAX
          : sat16(Math.round(fillValue / scale))
    // The mask marks where the output takes the fill: cond where X is the constant, else ¬cond.
    const mask = Array.from(cond.data, (v) => ((v !== 0) === Boolean(ca) ? 1 : 0))
    return {
      op: 'MaskFill',
      inputs: [q.activation(act), q.addConst(`${node.name}.mask`, 'int8', cond.shape, mask)],
      attrs: { fill },
      outScale: scale,
    }
  },
}

/** Integer MaskFill: y[i] = M[bcast(i)] ≠ 0 ? FILL : x[bcast(i)]. M int8 constant. */
export const maskFillInt: IntOp = {
  run(node, [x, m]) {
    const xs = x as Int16Array
    const ms = m as Int8Array
    const out = new Int16Array(sizeOf(node.outShape))
    const fill = num(node.attrs, 'fill')
    const [xShape, mShape] = node.inShapes as [number[], number[]]
    // Fast path: x has the output shape and the mask broadcasts only over leading axes.
    const sameX = xShape.length === node.outShape.length && xShape.every((d, i) => d === node.outShape[i])
    const msize = sizeOf(mShape)
    const first = mShape.findIndex((d) => d !== 1)
    const trailing = first < 0 ? [] : mShape.slice(first)
    const leading =
      sameX && out.length % msize === 0 && trailing.every((d, i) => d === node.outShape[node.outShape.length - trailing.length + i])
    if (leading) {
      for (let i = 0; i < out.length; i++) out[i] = ms[i % msize] !== 0 ? fill : (xs[i] as number)
      return out
    }
    for (let i = 0; i < out.length; i++) {
      out[i] = ms[broadcastIndex(node.outShape, mShape, i)] !== 0 ? fill : (xs[broadcastIndex(node.outShape, xShape, i)] as number)
    }
    return out
  },
  evalOne(node, i, read) {
    const [xShape, mShape] = node.inShapes as [number[], number[]]
    return read(1, broadcastIndex(node.outShape, mShape, i)) !== 0
      ? num(node.attrs, 'fill')
      : read(0, broadcastIndex(node.outShape, xShape, i))
  },
}
