import { ArtifactDecodeError } from '../errors.js'
import type { Model, ModelNode, TensorInfo } from '../model.js'
import { lrnBucket } from '../ops/lrn.js'
import { isqrt } from '../ops/norm.js'
import { intOps } from '../ops/registry.js'
import { EXP_INTERVALS, EXP_ONE } from '../ops/softmax.js'
import { LUT_INTERVALS } from '../ops/unary.js'
import type { IntArray } from '../tensor.js'
import { broadcastShapes, bytesPerElement, sameShape, sizeOf } from '../tensor.js'

/** The largest tensor an artifact may declare (elements). */
export const MAX_TENSOR_ELEMENTS = 2 ** 31
/** Every |v · MUL| the semantics compute stays below this (docs/semantics.md §1). */
const LIMIT = 2 ** 52
const X = 32768

const kinds = new Set(['input', 'activation', 'const'])

function fail(reason: string, details: Record<string, unknown> = {}): never {
  throw new ArtifactDecodeError(reason, details)
}

const isInt = (v: unknown): v is number => Number.isSafeInteger(v)

/**
 * Checks every promise the importer makes, so that any artifact that loads runs identically in the
 * fast kernels, in `evalOne` and in any exact implementation of docs/semantics.md: structure (ids,
 * types, topological order, one producer per activation), shapes (each op's output shape follows
 * from its inputs and attributes), and the bounds (shifts in [0, 52], |acc · MUL| < 2^52, tables).
 * Throws `ArtifactDecodeError` (code `ARTIFACT_INVALID`) naming the node and the broken rule.
 */
export function validateModel(model: Model): void {
  const { tensors, nodes } = model
  validateTensors(tensors)
  const valid = (id: unknown): id is number => isInt(id) && id >= 0 && id < tensors.length
  const available = new Set<number>()
  for (const id of model.inputs) {
    if (!valid(id) || tensors[id]?.kind !== 'input' || available.has(id)) fail('model inputs must be distinct input tensors', { id })
    available.add(id)
  }
  tensors.forEach((t, id) => {
    if (t.kind === 'const') {
      if (!model.constants.has(id)) fail(`constant "${t.name}" has no data`, { tensor: id })
      available.add(id)
    }
  })
  nodes.forEach((n: ModelNode, index) => {
    if (!n || typeof n !== 'object' || typeof n.name !== 'string' || !Object.hasOwn(intOps, n.op)) {
      fail(`node ${index} is malformed or uses an unknown op`, { node: index, op: n?.op })
    }
    if (!Array.isArray(n.inputs) || !n.inputs.every((id) => valid(id) && available.has(id))) {
      fail(`node "${n.name}" reads a tensor that is not an input, a constant or an earlier output`, { node: n.name })
    }
    if (!valid(n.output) || tensors[n.output]?.kind !== 'activation' || available.has(n.output)) {
      fail(`node "${n.name}" must write a new activation tensor`, { node: n.name, output: n.output })
    }
    if (!n.attrs || typeof n.attrs !== 'object' || !Object.values(n.attrs).every((v) => isInt(v) || (Array.isArray(v) && v.every(isInt)))) {
      fail(`node "${n.name}" has non-integer attributes`, { node: n.name })
    }
    const reason = checkNode(model, n)
    if (reason) fail(`node "${n.name}" (${n.op}): ${reason}`, { node: n.name, op: n.op })
    available.add(n.output)
  })
  for (const id of model.outputs)
    if (!valid(id) || !available.has(id) || tensors[id]?.kind === 'const') fail('a model output is never produced', { id })
}

/** Checks each tensor's fields: name, kind, dtype, shape (bounded size), scale; activations are int16. */
export function validateTensors(tensors: readonly TensorInfo[]): void {
  if (!Array.isArray(tensors)) fail('tensors must be an array')
  tensors.forEach((t: TensorInfo, id) => {
    if (
      !t ||
      typeof t !== 'object' ||
      typeof t.name !== 'string' ||
      !kinds.has(t.kind) ||
      !Object.hasOwn(bytesPerElement, t.dtype) ||
      !Array.isArray(t.shape) ||
      !t.shape.every((d) => isInt(d) && d >= 0) ||
      sizeOf(t.shape) > MAX_TENSOR_ELEMENTS ||
      typeof t.scale !== 'number' ||
      !Number.isFinite(t.scale) ||
      t.scale < 0
    ) {
      fail(`tensor ${id} is malformed`, { tensor: id })
    }
    if (t.kind !== 'const' && t.dtype !== 'int16') fail(`activation "${t.name}" is not int16`, { tensor: id, found: t.dtype })
  })
}

type View = { shape: number[]; dtype: string; data?: IntArray }

/** Returns why the node breaks the semantics' preconditions, or undefined. */
function checkNode(model: Model, n: ModelNode): string | undefined {
  const io: View[] = n.inputs.map((id) => {
    const t = model.tensors[id] as TensorInfo
    const data = model.constants.get(id)
    return data ? { shape: t.shape, dtype: t.dtype, data } : { shape: t.shape, dtype: t.dtype }
  })
  const out = (model.tensors[n.output] as TensorInfo).shape
  const a = n.attrs as Record<string, number & number[]>
  const param = (i: number, dtype: string, length: number) => {
    const v = io[i]
    return v?.data && v.dtype === dtype && v.data.length === length ? v.data : undefined
  }
  const act = (i: number) => io[i] !== undefined && io[i]?.data === undefined
  // Elementwise operands may also be int16 constants (a constant quantized with its own scale).
  const operand = (i: number) => io[i]?.dtype === 'int16'
  const shift = (s: IntArray | undefined) => s?.every((v) => v >= 0 && v <= 52) === true
  const arity = (k: number) => n.inputs.length === k
  switch (n.op) {
    case 'Conv':
    case 'Dense': {
      if (!arity(5) || !act(0)) return 'expects X, W, B, MUL, SHIFT'
      const x = io[0] as View
      const m = n.op === 'Conv' ? a.m : a.n
      const w = param(1, n.op === 'Dense' && io[1]?.dtype === 'int16' ? 'int16' : 'int8', io[1]?.data?.length ?? -1)
      const [b, mul, sh] = [param(2, 'int32', m), param(3, 'int32', m), param(4, 'int32', m)]
      if (!isInt(m) || m < 1 || !w || !b || !mul || !sh || w.length % m !== 0 || !shift(sh)) return 'bad parameters'
      const k = w.length / m
      if (n.op === 'Conv') {
        const { group, kh, kw, sh: sy, sw, dh, dw, pt, pl, oh, ow } = a
        const [bn, c, h, wd] = x.shape.length === 4 ? x.shape : [x.shape[0], x.shape[1], 1, x.shape[2]]
        if (![group, kh, kw, sy, sw, dh, dw, oh, ow].every((v) => isInt(v) && v >= 1) || !isInt(pt) || !isInt(pl) || pt < 0 || pl < 0)
          return 'bad window'
        if (
          x.shape.length < 3 ||
          x.shape.length > 4 ||
          (c as number) % group !== 0 ||
          m % group !== 0 ||
          k !== ((c as number) / group) * kh * kw
        ) {
          return 'weights do not match the input channels and kernel'
        }
        const expected = x.shape.length === 4 ? [bn, m, oh, ow] : [bn, m, ow]
        if (!sameShape(out, expected as number[]) || (x.shape.length === 3 && (oh !== 1 || kh !== 1 || h !== 1)) || !isInt(wd))
          return 'output shape'
      } else if (k !== a.k || x.shape.at(-1) !== k || !sameShape(out, [...x.shape.slice(0, -1), m])) return 'shapes'
      for (let r = 0; r < m; r++) {
        let sum = 0
        for (let t = r * k; t < (r + 1) * k; t++) sum += Math.abs(w[t] as number)
        if ((X * sum + Math.abs(b[r] as number)) * Math.abs(mul[r] as number) >= LIMIT) return `row ${r} exceeds the 2^52 bound`
      }
      return undefined
    }
    case 'MatMulAct': {
      if (!arity(4) || !operand(0) || !operand(1)) return 'expects A, B, MUL, SHIFT'
      const [mul, sh] = [param(2, 'int32', 1), param(3, 'int32', 1)]
      const k = (io[0] as View).shape.at(-1) ?? 0
      if (!mul || !shift(sh) || k * X * X * Math.abs(mul[0] as number) >= LIMIT) return 'bad parameters or bound'
      return undefined
    }
    case 'Add':
    case 'Concat': {
      const k = a.n
      if (!isInt(k) || k < 1 || !arity(k + 2) || !n.inputs.slice(0, k).every((_, i) => operand(i)))
        return 'expects n activations, MUL [n], SHIFT'
      const [mul, sh] = [param(k, 'int32', k), param(k + 1, 'int32', 1)]
      if (!mul || !shift(sh) || X * Array.from(mul).reduce((acc, v) => acc + Math.abs(v), 0) >= LIMIT) return 'bad parameters or bound'
      const shapes = io.slice(0, k).map((v) => v.shape)
      if (n.op === 'Add')
        return shapes.every((s) => sameShape(broadcastShapes(out, s) ?? [], out)) ? undefined : 'inputs do not broadcast to the output'
      const axis = a.axis
      const first = shapes[0] as number[]
      if (!isInt(axis) || axis < 0 || axis >= first.length) return 'bad axis'
      if (!shapes.every((s) => s.length === first.length && s.every((d, i) => i === axis || d === first[i])))
        return 'inputs differ outside the axis'
      const expected = [...first]
      expected[axis] = shapes.reduce((s, x) => s + (x[axis] as number), 0)
      return sameShape(out, expected) ? undefined : 'output shape'
    }
    case 'Mul': {
      if (!arity(4) || !operand(0) || !operand(1)) return 'expects A, B, MUL, SHIFT'
      const [mul, sh] = [param(2, 'int32', 1), param(3, 'int32', 1)]
      if (!mul || !shift(sh) || X * X * Math.abs(mul[0] as number) >= LIMIT) return 'bad parameters or bound'
      return io.slice(0, 2).every((v) => sameShape(broadcastShapes(out, v.shape) ?? [], out))
        ? undefined
        : 'inputs do not broadcast to the output'
    }
    case 'ChannelAffine': {
      const { c, plane } = a
      if (!arity(4) || !act(0) || !isInt(c) || !isInt(plane) || c < 1 || plane < 1) return 'expects X, MUL [c], ADD [c], SHIFT'
      const [mul, add, sh] = [param(1, 'int32', c), param(2, 'int32', c), param(3, 'int32', 1)]
      if (!mul || !add || !shift(sh) || sizeOf(out) % (c * plane) !== 0 || !sameShape(out, (io[0] as View).shape))
        return 'bad parameters or shape'
      for (let i = 0; i < c; i++) if (X * Math.abs(mul[i] as number) + Math.abs(add[i] as number) >= LIMIT) return 'exceeds the 2^52 bound'
      return undefined
    }
    case 'Relu':
    case 'Reshape':
      return arity(1) &&
        act(0) &&
        sizeOf(out) === sizeOf((io[0] as View).shape) &&
        (n.op === 'Reshape' || sameShape(out, (io[0] as View).shape))
        ? undefined
        : 'shape'
    case 'LeakyRelu': {
      const [mul, sh] = [param(1, 'int32', 1), param(2, 'int32', 1)]
      return arity(3) && act(0) && mul && shift(sh) && X * Math.abs(mul[0] as number) < LIMIT && sameShape(out, (io[0] as View).shape)
        ? undefined
        : 'bad parameters or shape'
    }
    case 'Clip':
      // lo > hi is well defined (every value becomes hi), as in ONNX.
      return arity(1) && act(0) && isInt(a.lo) && isInt(a.hi) && a.lo >= -32768 && a.hi <= 32767 && sameShape(out, (io[0] as View).shape)
        ? undefined
        : 'bounds'
    case 'Lut':
      return arity(2) && act(0) && param(1, 'int16', LUT_INTERVALS + 1) && sameShape(out, (io[0] as View).shape)
        ? undefined
        : 'expects X, T int16 [4097]'
    case 'Softmax': {
      const table = param(1, 'int32', EXP_INTERVALS + 1)
      const { d, inner, r } = a
      if (!arity(2) || !act(0) || !table || table[0] !== EXP_ONE || !table.every((v) => v >= 0 && v <= EXP_ONE))
        return 'expects X, EXP int32 [4097] with EXP[0] = 65536'
      if (!isInt(r) || r < 0 || r > 52 || !isInt(d) || !isInt(inner) || d < 1 || inner < 1 || sizeOf(out) % (d * inner) !== 0)
        return 'bad attributes'
      return sameShape(out, (io[0] as View).shape) ? undefined : 'shape'
    }
    case 'MaxPool':
    case 'AveragePool': {
      const { kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, oh, ow, h, w } = a
      if (!arity(1) || !act(0) || ![kh, kw, sh, sw, dh, dw, oh, ow, h, w].every((v) => isInt(v) && v >= 1)) return 'bad window'
      if (![pt, pl, pb, pr].every((v) => isInt(v) && v >= 0)) return 'bad pads'
      const x = io[0] as View
      const planes = sizeOf(x.shape) / (h * w)
      if (!Number.isInteger(planes) || sizeOf(out) !== planes * oh * ow) return 'shape'
      if (n.op === 'AveragePool') {
        // Every window needs an element: some offset lands inside for every output row and column.
        const inside = (o: number, size: number, k: number, s: number, dd: number, p: number) => {
          for (let t = 0; t < k; t++) {
            const i = o * s - p + t * dd
            if (i >= 0 && i < size) return true
          }
          return false
        }
        for (let o = 0; o < oh; o++) if (!inside(o, h, kh, sh, dh, pt)) return 'a window with no input element'
        for (let o = 0; o < ow; o++) if (!inside(o, w, kw, sw, dw, pl)) return 'a window with no input element'
      }
      return undefined
    }
    case 'Transpose': {
      const perm = a.perm
      const x = io[0] as View
      if (
        !arity(1) ||
        !act(0) ||
        !Array.isArray(perm) ||
        perm.length !== x.shape.length ||
        [...perm].sort((p, q) => p - q).some((p, i) => p !== i)
      ) {
        return 'perm is not a permutation'
      }
      return sameShape(
        out,
        perm.map((p) => x.shape[p] as number),
      )
        ? undefined
        : 'shape'
    }
    case 'LRN': {
      const { size, c, plane } = a
      if (!arity(3) || !act(0) || ![size, c, plane].every((v) => isInt(v) && v >= 1)) return 'bad attributes'
      const table = io[1]?.data
      const sh = param(2, 'int32', 1)
      if (!table || io[1]?.dtype !== 'int32' || table.length <= lrnBucket(size * X * X) || !shift(sh)) return 'table too short or bad shift'
      for (const v of table) if (X * Math.abs(v) >= LIMIT) return 'exceeds the 2^52 bound'
      return sameShape(out, (io[0] as View).shape) && sizeOf(out) % (c * plane) === 0 ? undefined : 'shape'
    }
    case 'Gather': {
      const axis = a.axis
      const x = io[0] as View
      const idx = io[1] as View
      if (!arity(2) || !operand(0) || !(idx.dtype === 'int16' ? !idx.data : idx.dtype === 'int32' && idx.data))
        return 'expects X int16, IDX'
      if (!isInt(axis) || axis < 0 || axis >= x.shape.length) return 'bad axis'
      return sameShape(out, [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)]) ? undefined : 'output shape'
    }
    case 'Slice': {
      const x = io[0] as View
      const { starts, steps } = a
      const rank = x.shape.length
      if (!arity(1) || !operand(0) || !Array.isArray(starts) || !Array.isArray(steps) || starts.length !== rank || steps.length !== rank)
        return 'expects X and per-axis STARTS, STEPS'
      if (out.length !== rank) return 'output rank'
      for (let d = 0; d < rank; d++) {
        const [s, st, len, dim] = [starts[d], steps[d], out[d], x.shape[d]] as number[]
        if (!isInt(s) || !isInt(st) || st === 0) return 'bad starts or steps'
        if (len > 0 && (s < 0 || s >= dim || s + (len - 1) * st < 0 || s + (len - 1) * st >= dim)) return 'slice outside the input'
      }
      return undefined
    }
    case 'Tile': {
      const x = io[0] as View
      return arity(1) && operand(0) && out.length === x.shape.length && x.shape.every((d, i) => d > 0 && (out[i] as number) % d === 0)
        ? undefined
        : 'output is not a tiling of the input'
    }
    case 'Expand':
      return arity(1) && operand(0) && sameShape(broadcastShapes((io[0] as View).shape, out) ?? [], out) ? undefined : 'shape'
    case 'MaskFill': {
      const m = io[1] as View
      if (!arity(2) || !operand(0) || m.dtype !== 'int8' || !m.data || !isInt(a.fill) || a.fill < -32768 || a.fill > 32767)
        return 'expects X, M int8, FILL'
      return io.every((v) => sameShape(broadcastShapes(out, v.shape) ?? [], out)) ? undefined : 'inputs do not broadcast to the output'
    }
    case 'Norm': {
      const d = out.at(-1) ?? 0
      const { center, e, f } = a
      const [g, b] = [param(1, 'int32', d), param(2, 'int32', d)]
      if (!arity(3) || !act(0) || !g || !b || !sameShape(out, (io[0] as View).shape) || d < 1) return 'expects X, G int32 [D], B int32 [D]'
      if ((center !== 0 && center !== 1) || !isInt(e) || e < 1 || !isInt(f) || f < 0 || f > 52) return 'bad attributes'
      const tMax = d * d * X * X + e
      if (tMax >= LIMIT || (isqrt(tMax) + 1) * 2 ** f >= 2 ** 51) return 'exceeds the 2^52 bound'
      for (const v of g) if (Math.abs(v) * 2 * d * X >= 2 ** 51) return 'exceeds the 2^52 bound'
      return undefined
    }
    default:
      return 'unknown op'
  }
}
