import { InvalidModelError, UnsupportedOpError } from '../errors.js'
import { INT16_MAX, quantizeMultipliers, rshift, sat16 } from '../fixedPoint.js'
import type { OnnxNode } from '../onnx/decodeOnnx.js'
import type { FloatTensor } from '../tensor.js'
import { normalizeAxis, sizeOf, stridesOf } from '../tensor.js'
import type { IntOp, OnnxOp, ResolveContext } from './types.js'
import { attrInt, attrInts, num, nums } from './types.js'

/** Reshape, Flatten, Squeeze and Unsqueeze only relabel the shape: y[i] = x[i]. */
function reshapeLike(target: (node: OnnxNode, ctx: ResolveContext, shape: number[]) => number[]): OnnxOp {
  return {
    resolve(node, ctx) {
      const x = node.inputs[0] as string
      const inShape = ctx.shape(x)
      const shape = target(node, ctx, inShape)
      if (sizeOf(shape) !== sizeOf(inShape)) {
        throw new InvalidModelError(`${node.opType} "${node.name}" changes the element count`, {
          node: node.name,
          from: inShape,
          to: shape,
        })
      }
      return { attrs: { shape }, shape, inputs: [x] }
    },
    evalFloat: (node, [x]) => ({ dtype: (x as FloatTensor).dtype, shape: [...nums(node.attrs, 'shape')], data: (x as FloatTensor).data }),
    quantize: (node, q) => ({
      op: 'Reshape',
      inputs: [q.activation(node.inputs[0] as string)],
      attrs: node.attrs,
      outScale: q.scaleOf(node.inputs[0] as string),
    }),
  }
}

function constantInts(node: OnnxNode, ctx: ResolveContext, pos: number, attr: string): number[] | undefined {
  const name = node.inputs[pos]
  if (name) {
    const c = ctx.constant(name)
    if (!c) throw new UnsupportedOpError(node.opType, node.name, `input ${pos} (${attr}) must be constant`)
    return Array.from(c.data)
  }
  return attrInts(node, attr)
}

export const reshapeOnnx = reshapeLike((node, ctx, inShape) => {
  const spec = constantInts(node, ctx, 1, 'shape')
  if (!spec) throw new InvalidModelError(`Reshape "${node.name}" has no shape`, { node: node.name })
  const allowZero = attrInt(node, 'allowzero', 0) === 1
  const shape = spec.map((d, i) => (d === 0 && !allowZero ? (inShape[i] as number) : d))
  const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1)
  return shape.map((d) => (d === -1 ? sizeOf(inShape) / known : d))
})

export const flattenOnnx = reshapeLike((node, _ctx, inShape) => {
  const axis = normalizeAxis(attrInt(node, 'axis', 1), inShape.length)
  return [sizeOf(inShape.slice(0, axis)), sizeOf(inShape.slice(axis))]
})

export const squeezeOnnx = reshapeLike((node, ctx, inShape) => {
  const axes = constantInts(node, ctx, 1, 'axes')?.map((a) => normalizeAxis(a, inShape.length))
  return inShape.filter((d, i) => (axes ? !axes.includes(i) : d !== 1))
})

export const unsqueezeOnnx = reshapeLike((node, ctx, inShape) => {
  const raw = constantInts(node, ctx, 1, 'axes')
  if (!raw) throw new InvalidModelError(`Unsqueeze "${node.name}" has no axes`, { node: node.name })
  const rank = inShape.length + raw.length
  const axes = raw.map((a) => normalizeAxis(a, rank)).sort((a, b) => a - b)
  const out = [...inShape]
  for (const a of axes) out.splice(a, 0, 1)
  return out
})

export const reshapeInt: IntOp = {
  run: (_node, [x]) => Int16Array.from(x as Int16Array),
  evalOne: (_node, i, read) => read(0, i),
}

/** The input flat index that output flat index `i` of a transpose reads. */
function transposeSource(inShape: readonly number[], perm: readonly number[], i: number): number {
  const inStrides = stridesOf(inShape)
  let rest = i
  let src = 0
  for (let d = perm.length - 1; d >= 0; d--) {
    const axis = perm[d] as number
    const size = inShape[axis] as number
    src += (rest % size) * (inStrides[axis] as number)
    rest = Math.floor(rest / size)
  }
  return src
}

export const transposeOnnx: OnnxOp = {
  resolve(node, ctx) {
    const inShape = ctx.shape(node.inputs[0] as string)
    const perm = attrInts(node, 'perm') ?? inShape.map((_, i) => inShape.length - 1 - i)
    if (perm.length !== inShape.length || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
      throw new InvalidModelError(`Transpose "${node.name}" perm is not a permutation of the axes`, {
        node: node.name,
        perm,
        rank: inShape.length,
      })
    }
    return { attrs: { perm }, shape: perm.map((p) => inShape[p] as number) }
  },
  evalFloat(node, [x]) {
    const xt = x as FloatTensor
    const perm = nums(node.attrs, 'perm')
    const data = new Float64Array(xt.data.length)
    for (let i = 0; i < data.length; i++) data[i] = xt.data[transposeSource(xt.shape, perm, i)] as number
    return { dtype: xt.dtype, shape: perm.map((p) => xt.shape[p] as number), data }
  },
  quantize: (node, q) => ({
    op: 'Transpose',
    inputs: [q.activation(node.inputs[0] as string)],
    attrs: node.attrs,
    outScale: q.scaleOf(node.inputs[0] as string),
  }),
}

/** Integer Transpose: y[i] = x[source(i)] for the permutation PERM. */
export const transposeInt: IntOp = {
  run(node, [x]) {
    const xs = x as Int16Array
    const out = new Int16Array(xs.length)
    const perm = nums(node.attrs, 'perm')
    const inShape = node.inShapes[0] as number[]
    const rank = perm.length
    if (rank === 0 || out.length === 0) {
      out.set(xs)
      return out
    }
    // Walk the output in order with an odometer over its coordinates; the source index moves by
    // the permuted input strides.
    const inStrides = stridesOf(inShape)
    const dims = perm.map((p) => inShape[p] as number)
    const strides = perm.map((p) => inStrides[p] as number)
    const last = rank - 1
    const n = dims[last] as number
    const step = strides[last] as number
    const coord = new Array<number>(rank).fill(0)
    let src = 0
    for (let o = 0; o < out.length; o += n) {
      for (let j = 0; j < n; j++) out[o + j] = xs[src + j * step] as number
      for (let d = last - 1; d >= 0; d--) {
        coord[d] = (coord[d] as number) + 1
        src += strides[d] as number
        if ((coord[d] as number) < (dims[d] as number)) break
        src -= (coord[d] as number) * (strides[d] as number)
        coord[d] = 0
      }
    }
    return out
  },
  evalOne: (node, i, read) => read(0, transposeSource(node.inShapes[0] as number[], nums(node.attrs, 'perm'), i)),
}

/** Which input and which of its flat indices output index `i` of a concat comes from. */
function concatSource(inShapes: readonly number[][], axis: number, i: number): [number, number] {
  const first = inShapes[0] as number[]
  const inner = sizeOf(first.slice(axis + 1))
  const total = inShapes.reduce((a, s) => a + (s[axis] as number), 0)
  const outer = Math.floor(i / (total * inner))
  let along = Math.floor(i / inner) % total
  const within = i % inner
  for (let k = 0; k < inShapes.length; k++) {
    const d = (inShapes[k] as number[])[axis] as number
    if (along < d) return [k, (outer * d + along) * inner + within]
    along -= d
  }
  throw new InvalidModelError('Concat index out of range', { index: i })
}

export const concatOnnx: OnnxOp = {
  resolve(node, ctx) {
    const shapes = node.inputs.map(ctx.shape)
    const rank = (shapes[0] as number[]).length
    // Concat-1 (opsets 1–3) has an optional axis defaulting to 1; from Concat-4 it is required.
    const axis = normalizeAxis(attrInt(node, 'axis', ctx.opset < 4 ? 1 : 0), rank)
    for (const s of shapes) {
      if (s.length !== rank || s.some((d, i) => i !== axis && d !== (shapes[0] as number[])[i])) {
        throw new InvalidModelError(`Concat "${node.name}" inputs differ outside the axis`, { node: node.name, shapes, axis })
      }
    }
    const shape = [...(shapes[0] as number[])]
    shape[axis] = shapes.reduce((a, s) => a + (s[axis] as number), 0)
    return { attrs: { axis }, shape }
  },
  evalFloat(node, inputs) {
    const shapes = inputs.map((t) => (t as FloatTensor).shape)
    const axis = num(node.attrs, 'axis')
    const shape = [...(shapes[0] as number[])]
    shape[axis] = shapes.reduce((a, s) => a + (s[axis] as number), 0)
    const data = new Float64Array(sizeOf(shape))
    for (let i = 0; i < data.length; i++) {
      const [k, j] = concatSource(shapes, axis, i)
      data[i] = (inputs[k] as FloatTensor).data[j] as number
    }
    return { dtype: (inputs[0] as FloatTensor).dtype, shape, data }
  },
  quantize(node, q) {
    const ops = node.inputs.map((name) => q.operand(node, name))
    const sy = Math.max(...ops.map((o) => o.scale))
    const { m, s } = quantizeMultipliers(
      ops.map((o) => o.scale / sy),
      INT16_MAX + 1,
    )
    return {
      op: 'Concat',
      inputs: [
        ...ops.map((o) => o.id),
        q.addConst(`${node.name}.multiplier`, 'int32', [ops.length], m),
        q.addConst(`${node.name}.shift`, 'int32', [], [s]),
      ],
      attrs: { axis: num(node.attrs, 'axis'), n: ops.length },
      outScale: sy,
    }
  },
}

/** Integer Concat: y[i] = sat16(rshift(x_k[j] · MUL[k], SHIFT)) where (k, j) is the source of i. */
export const concatInt: IntOp = {
  run(node, inputs) {
    const out = new Int16Array(sizeOf(node.outShape))
    const n = num(node.attrs, 'n')
    const axis = num(node.attrs, 'axis')
    const first = node.inShapes[0] as number[]
    const inner = sizeOf(first.slice(axis + 1))
    const outer = sizeOf(first.slice(0, axis))
    const total = node.outShape[axis] as number
    const mul = inputs[n] as Int32Array
    const s = (inputs[n + 1] as Int32Array)[0] as number
    let offset = 0
    for (let k = 0; k < n; k++) {
      const x = inputs[k] as Int16Array
      const block = ((node.inShapes[k] as number[])[axis] as number) * inner
      const m = mul[k] as number
      for (let o = 0; o < outer; o++) {
        const dst = (o * total + offset) * inner
        for (let t = 0; t < block; t++) out[dst + t] = sat16(rshift((x[o * block + t] as number) * m, s))
      }
      offset += (node.inShapes[k] as number[])[axis] as number
    }
    return out
  },
  evalOne(node, i, read) {
    const n = num(node.attrs, 'n')
    const [k, j] = concatSource(node.inShapes.slice(0, n), num(node.attrs, 'axis'), i)
    return sat16(rshift(read(k, j) * read(n, k), read(n + 1, 0)))
  },
}
