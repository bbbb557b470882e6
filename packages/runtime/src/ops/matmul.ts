import { InvalidModelError, UnsupportedOpError } from '../errors.js'
import { INT16_MAX, quantizeMultiplier, requant } from '../fixedPoint.js'
import { gemmRequant, matmulRequant16, paddedWeights, roundUp } from '../kernels/gemm.js'
import type { FloatTensor } from '../tensor.js'
import { broadcastIndex, floatTensor, sizeOf } from '../tensor.js'
import type { IntOp, OnnxOp, QuantizeContext } from './types.js'
import { attrFloat, attrInt, num } from './types.js'
import { quantizeBias, quantizeRows, rowMultipliers } from './weights.js'

/**
 * Dense layers: MatMul and Gemm with a constant right-hand side become the integer `Dense` op
 * (weights stored row-per-output [N, K]); MatMul of two activations becomes `MatMulAct`.
 */

/** The [N, K] weight matrix alpha·B (or alpha·Bᵀ) for a constant right-hand side. */
function denseWeights(b: FloatTensor, transB: boolean, alpha: number): { w: Float64Array; n: number; k: number } {
  const [r, c] = b.shape as [number, number]
  const n = transB ? r : c
  const k = transB ? c : r
  const w = new Float64Array(n * k)
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) w[i * k + j] = alpha * (transB ? (b.data[i * c + j] as number) : (b.data[j * c + i] as number))
  }
  return { w, n, k }
}

/** Per-output bias beta·C, where C broadcasts along rows; undefined when C varies by row. */
function denseBias(c: FloatTensor | undefined, n: number, rows: number, beta: number): Float64Array | undefined {
  if (!c) return undefined
  const out = new Float64Array(n)
  const shape = [rows, n]
  for (let j = 0; j < n; j++) out[j] = beta * (c.data[broadcastIndex(shape, c.shape, j)] as number)
  for (let i = 1; i < rows; i++) {
    for (let j = 0; j < n; j++) {
      if ((c.data[broadcastIndex(shape, c.shape, i * n + j)] as number) * beta !== out[j]) return undefined
    }
  }
  return out
}

function denseFloat(a: FloatTensor, w: Float64Array, n: number, k: number, bias: Float64Array | undefined): FloatTensor {
  const rows = sizeOf(a.shape) / k
  const out = floatTensor([...a.shape.slice(0, -1), n])
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < n; j++) {
      let acc = bias ? (bias[j] as number) : 0
      for (let t = 0; t < k; t++) acc += (a.data[r * k + t] as number) * (w[j * k + t] as number)
      out.data[r * n + j] = acc
    }
  }
  return out
}

function quantizeDense(
  name: string,
  input: string,
  output: string,
  w: Float64Array,
  n: number,
  bias: Float64Array | undefined,
  q: QuantizeContext,
) {
  const sx = q.scaleOf(input)
  const sy = q.calibratedScale(output)
  const { q: wq, scales } = quantizeRows(w, n, q.weightBits === 16 ? 32767 : 127)
  const b = quantizeBias(bias, n, (r) => sx * (scales[r] as number))
  const mult = rowMultipliers(wq, b, n, (r) => (sx * (scales[r] as number)) / sy)
  return {
    op: 'Dense',
    inputs: [
      q.activation(input),
      q.addConst(`${name}.weight`, q.weightBits === 16 ? 'int16' : 'int8', [n, w.length / n], wq),
      q.addConst(`${name}.bias`, 'int32', [n], b),
      q.addConst(`${name}.multiplier`, 'int32', [n], mult.m),
      q.addConst(`${name}.shift`, 'int32', [n], mult.s),
    ],
    attrs: { n, k: w.length / n },
    outScale: sy,
  }
}

/**
 * numpy's promotion of 1-D operands: a [K] is read as [1, K] and b [K] as [K, 1]. The output is
 * the promoted product with those added dimensions removed, which keeps every flat index.
 */
function promoted(a: number[], b: number[], name: string): { a: number[]; b: number[]; out: number[]; shape: number[] } {
  const a2 = a.length === 1 ? [1, a[0] as number] : a
  const b2 = b.length === 1 ? [b[0] as number, 1] : b
  const out = matmulShape(a2, b2, name)
  const shape = out.filter((_, i) => !(a.length === 1 && i === out.length - 2) && !(b.length === 1 && i === out.length - 1))
  return { a: a2, b: b2, out, shape }
}

/** Batch-broadcast matmul shapes: a [..., M, K] × b [..., K, N]. */
function matmulShape(a: number[], b: number[], name: string): number[] {
  if (a.length < 2 || b.length < 2 || a[a.length - 1] !== b[b.length - 2]) {
    throw new InvalidModelError(`MatMul "${name}" has incompatible shapes`, { node: name, a, b })
  }
  const batchA = a.slice(0, -2)
  const batchB = b.slice(0, -2)
  const rank = Math.max(batchA.length, batchB.length)
  const batch: number[] = []
  for (let i = 0; i < rank; i++) {
    const da = batchA[batchA.length - rank + i] ?? 1
    const db = batchB[batchB.length - rank + i] ?? 1
    if (da !== db && da !== 1 && db !== 1) throw new InvalidModelError(`MatMul "${name}" batch dims do not broadcast`, { node: name, a, b })
    batch.push(Math.max(da, db))
  }
  return [...batch, a[a.length - 2] as number, b[b.length - 1] as number]
}

/** Offsets of the A and B matrices for output batch index `bi`. */
function batchOffsets(out: number[], a: number[], b: number[], bi: number): [number, number] {
  const batchOut = out.slice(0, -2)
  const ia = broadcastIndex(batchOut, a.slice(0, -2), bi)
  const ib = broadcastIndex(batchOut, b.slice(0, -2), bi)
  return [ia * (a[a.length - 2] as number) * (a[a.length - 1] as number), ib * (b[b.length - 2] as number) * (b[b.length - 1] as number)]
}

export const matmulOnnx: OnnxOp = {
  resolve(node, ctx) {
    const [a, b] = node.inputs as [string, string]
    const { shape } = promoted(ctx.shape(a), ctx.shape(b), node.name)
    const bt = ctx.constant(b)
    if (ctx.constant(a) && !bt)
      throw new UnsupportedOpError('MatMul', node.name, 'a constant left operand with an activation right operand')
    return { attrs: { constB: bt && bt.shape.length === 2 ? 1 : 0 }, shape }
  },
  evalFloat(node, [a, b, bias]) {
    const at = a as FloatTensor
    const bt = b as FloatTensor
    const p = promoted(at.shape, bt.shape, node.name)
    const [m, n] = p.out.slice(-2) as [number, number]
    const k = at.shape[at.shape.length - 1] as number
    const out = floatTensor(p.shape)
    const batches = sizeOf(p.out.slice(0, -2))
    const alpha = (node.attrs.alpha as number | undefined) ?? 1
    const ad = at.data
    const bd = bt.data
    const acc = new Float64Array(n)
    for (let bi = 0; bi < batches; bi++) {
      const [oa, ob] = batchOffsets(p.out, p.a, p.b, bi)
      for (let i = 0; i < m; i++) {
        acc.fill(0)
        for (let t = 0; t < k; t++) {
          const av = ad[oa + i * k + t] as number
          const row = ob + t * n
          for (let j = 0; j < n; j++) acc[j] = (acc[j] as number) + av * (bd[row + j] as number)
        }
        const o = (bi * m + i) * n
        for (let j = 0; j < n; j++) out.data[o + j] = alpha * (acc[j] as number) + (bias ? (bias.data[j] as number) : 0)
      }
    }
    return out
  },
  quantize(node, q) {
    const [a, b] = node.inputs as [string, string]
    if (num(node.attrs, 'constB') === 1) {
      const { w, n } = denseWeights(q.constant(b) as FloatTensor, false, 1)
      const bias = node.inputs[2] ? q.constant(node.inputs[2])?.data : undefined
      return quantizeDense(node.name, a, node.output, w, n, bias, q)
    }
    const qa = q.operand(node, a)
    const qb = q.operand(node, b)
    const sy = q.calibratedScale(node.output)
    const k = q.shape(a).at(-1) as number
    // A scalar factor after the product (attention's 1/√d) is folded into the multiplier.
    const alpha = (node.attrs.alpha as number | undefined) ?? 1
    if (alpha < 0) throw new UnsupportedOpError('MatMul', node.name, 'a negative scalar factor')
    const mult = quantizeMultiplier((alpha * qa.scale * qb.scale) / sy, k * (INT16_MAX + 1) ** 2)
    return {
      op: 'MatMulAct',
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

export const gemmOnnx: OnnxOp = {
  resolve(node, ctx) {
    const [a, b, c] = node.inputs as [string, string, string?]
    const bt = ctx.constant(b)
    if (bt?.shape.length !== 2) throw new UnsupportedOpError('Gemm', node.name, 'B must be a constant matrix')
    if (c && !ctx.constant(c)) throw new UnsupportedOpError('Gemm', node.name, 'C must be constant')
    if (attrInt(node, 'transA', 0) !== 0) throw new UnsupportedOpError('Gemm', node.name, 'transA = 1')
    const aShape = ctx.shape(a)
    const transB = attrInt(node, 'transB', 0)
    const [r0, c0] = bt.shape as [number, number]
    const k = transB ? c0 : r0
    const n = transB ? r0 : c0
    if (aShape.length !== 2 || aShape[1] !== k) {
      throw new InvalidModelError(`Gemm "${node.name}" has incompatible shapes`, { node: node.name, a: aShape, b: bt.shape, transB })
    }
    const rows = aShape[0] as number
    const beta = attrFloat(node, 'beta', 1)
    if (c && !denseBias(ctx.constant(c), n, rows, beta)) throw new UnsupportedOpError('Gemm', node.name, 'C varies along rows')
    return {
      attrs: { transB, alpha: attrFloat(node, 'alpha', 1), beta, n, k },
      shape: [rows, n],
      inputs: c ? [a, b, c] : [a, b],
    }
  },
  evalFloat(node, [a, b, c]) {
    const { w, n, k } = denseWeights(b as FloatTensor, num(node.attrs, 'transB') === 1, num(node.attrs, 'alpha'))
    const at = a as FloatTensor
    return denseFloat(at, w, n, k, denseBias(c, n, at.shape[0] as number, num(node.attrs, 'beta')))
  },
  quantize(node, q) {
    const [a, b, c] = node.inputs as [string, string, string?]
    const { w, n } = denseWeights(q.constant(b) as FloatTensor, num(node.attrs, 'transB') === 1, num(node.attrs, 'alpha'))
    const bias = c ? denseBias(q.constant(c), n, q.shape(a)[0] as number, num(node.attrs, 'beta')) : undefined
    return quantizeDense(node.name, a, node.output, w, n, bias, q)
  },
}

/**
 * Integer Dense. Inputs: X int16 [..., K], W int8 [N, K], B int32 [N], MUL int32 [N], SHIFT int32 [N].
 * y[r, j] = sat16(rshift((Σ_t x[r, t]·W[j, t] + B[j]) · MUL[j], SHIFT[j])).
 */
export const denseInt: IntOp = {
  run(node, [x, w, b, mul, sh]) {
    const n = num(node.attrs, 'n')
    const k = num(node.attrs, 'k')
    if (w instanceof Int16Array) return dense16(x as Int16Array, w, b as Int32Array, mul as Int32Array, sh as Int32Array, n, k)
    const kp = roundUp(k, 8)
    const xs = x as Int16Array
    const rows = xs.length / k
    const res = gemmRequant(
      paddedWeights(w as Int8Array, n),
      n,
      kp,
      rows,
      (cols) => {
        for (let r = 0; r < rows; r++) cols.set(xs.subarray(r * k, (r + 1) * k), r * kp)
      },
      b as Int32Array,
      mul as Int32Array,
      sh as Int32Array,
    )
    // res is [n][roundUp(rows, 4)]; the output is [rows][n].
    const r4 = roundUp(rows, 4)
    const out = new Int16Array(rows * n)
    for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) out[r * n + j] = res[j * r4 + r] as number
    return out
  },
  evalOne(node, outIndex, read) {
    const n = num(node.attrs, 'n')
    const k = num(node.attrs, 'k')
    const j = outIndex % n
    const r = Math.floor(outIndex / n)
    let acc = read(2, j)
    for (let t = 0; t < k; t++) acc += read(0, r * k + t) * read(1, j * k + t)
    return requant(acc, read(3, j), read(4, j))
  },
}

/**
 * Integer MatMul of two activations. Inputs: A int16 [..., M, K], B int16 [..., K, N], MUL, SHIFT
 * (int32 scalars). y = sat16(rshift((Σ_t a·b) · MUL, SHIFT)), batch dims broadcast. A 1-D A is
 * read as [1, K] and a 1-D B as [K, 1] (numpy), the output lacking that dimension.
 */
export const matmulActInt: IntOp = {
  run(node, [a, b, mul, sh]) {
    const as = a as Int16Array
    const bs = b as Int16Array
    const p = promoted(node.inShapes[0] as number[], node.inShapes[1] as number[], node.name)
    const n = p.out[p.out.length - 1] as number
    const m = p.out[p.out.length - 2] as number
    const k = p.a[p.a.length - 1] as number
    const mm = mul?.[0] as number
    const s = sh?.[0] as number
    const out = new Int16Array(sizeOf(node.outShape))
    const batches = sizeOf(p.out.slice(0, -2))
    const acc = new Float64Array(n)
    for (let bi = 0; bi < batches; bi++) {
      const [oa, ob] = batchOffsets(p.out, p.a, p.b, bi)
      // Many rows (a prefill): the WebAssembly kernel, which transposes B once per batch item. One
      // or a few rows (a decode step): the JavaScript loop below, which reads B in place.
      if (m >= WASM_MIN_ROWS) {
        out.set(matmulRequant16(as, oa, bs, ob, m, n, k, mm, s), bi * m * n)
        continue
      }
      for (let i = 0; i < m; i++) {
        acc.fill(0)
        // Row i of A times B, accumulated four rows of B at a time (contiguous reads; every partial
        // sum is an integer below 2^53, so the order does not change the result). Zero entries of A
        // add nothing and are skipped: attention probabilities past the causal mask are exactly 0,
        // so attention × V does about half the work in a prefill.
        let t = 0
        for (; t + 4 <= k; t += 4) {
          const a0 = as[oa + i * k + t] as number
          const a1 = as[oa + i * k + t + 1] as number
          const a2 = as[oa + i * k + t + 2] as number
          const a3 = as[oa + i * k + t + 3] as number
          if ((a0 | a1 | a2 | a3) === 0) continue
          const r0 = ob + t * n
          const r1 = r0 + n
          const r2 = r1 + n
          const r3 = r2 + n
          for (let j = 0; j < n; j++) {
            acc[j] =
              (acc[j] as number) +
              (a0 * (bs[r0 + j] as number) + a1 * (bs[r1 + j] as number) + a2 * (bs[r2 + j] as number) + a3 * (bs[r3 + j] as number))
          }
        }
        for (; t < k; t++) {
          const av = as[oa + i * k + t] as number
          if (av === 0) continue
          const row = ob + t * n
          for (let j = 0; j < n; j++) acc[j] = (acc[j] as number) + av * (bs[row + j] as number)
        }
        const o = (bi * m + i) * n
        for (let j = 0; j < n; j++) out[o + j] = requant(acc[j] as number, mm, s)
      }
    }
    return out
  },
  evalOne(node, outIndex, read) {
    const { a: as, b: bs, out } = promoted(node.inShapes[0] as number[], node.inShapes[1] as number[], node.name)
    const n = out[out.length - 1] as number
    const m = out[out.length - 2] as number
    const k = as[as.length - 1] as number
    const j = outIndex % n
    const i = Math.floor(outIndex / n) % m
    const bi = Math.floor(outIndex / (n * m))
    const [oa, ob] = batchOffsets(out, as, bs, bi)
    let acc = 0
    for (let t = 0; t < k; t++) acc += read(0, oa + i * k + t) * read(1, ob + t * n + j)
    return requant(acc, read(2, 0), read(3, 0))
  },
}

/** Rows of A from which MatMulAct runs in WebAssembly (the same exact sums either way). */
export const WASM_MIN_ROWS = 8

/** Dense with int16 weights (the same definition; a JavaScript kernel, exact in doubles). */
function dense16(xs: Int16Array, w: Int16Array, b: Int32Array, mul: Int32Array, sh: Int32Array, n: number, k: number): Int16Array {
  const rows = xs.length / k
  const out = new Int16Array(rows * n)
  for (let r = 0; r < rows; r++) {
    const xo = r * k
    for (let j = 0; j < n; j++) {
      const wo = j * k
      let acc = b[j] as number
      for (let t = 0; t < k; t++) acc += (xs[xo + t] as number) * (w[wo + t] as number)
      out[r * n + j] = requant(acc, mul[j] as number, sh[j] as number)
    }
  }
  return out
}
