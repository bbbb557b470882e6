import { InvalidModelError, UnsupportedOpError } from '../errors.js'
import type { AttrValue, OnnxModel, OnnxNode } from '../onnx/decodeOnnx.js'
import { onnxOps } from '../ops/registry.js'
import type { FloatNode, ResolveContext } from '../ops/types.js'
import type { DType, FloatTensor } from '../tensor.js'
import { broadcastIndex, broadcastShapes, floatTensor, normalizeAxis, sizeOf } from '../tensor.js'
import { fuseGraph } from './fuseGraph.js'
import { fuseTransformer } from './fuseTransformer.js'

/** A float graph with static shapes, constants folded, and no Identity/Dropout. */
export type FloatGraph = {
  opset: number
  inputs: { name: string; dtype: DType; shape: number[] }[]
  outputs: string[]
  constants: Map<string, FloatTensor>
  nodes: FloatNode[]
  shapes: Map<string, number[]>
}

export type LowerOptions = {
  /** Values for graph inputs that should be treated as constants (e.g. shape tensors). */
  bind?: Record<string, FloatTensor> | undefined
  /** Concrete shapes for inputs with symbolic dimensions. */
  inputShapes?: Record<string, number[]> | undefined
}

const passThrough = new Set(['Identity', 'Dropout'])
/** Ops evaluated only at import, on constant inputs (shape computations). */
const foldOnly = new Set(['Constant', 'ConstantOfShape', 'Shape', 'Cast', 'Equal', 'Range'])

/**
 * Lowers a decoded ONNX model: resolves every node's attributes and shapes, folds every node whose
 * inputs are all constant (Constant, ConstantOfShape, Shape, Gather, Cast and any supported op),
 * removes Identity and Dropout, rewrites Gemm with transA or a matrix bias into Transpose / Add
 * around a plain Gemm, then fuses BatchNormalization and constant bias adds.
 */
export function lowerOnnx(model: OnnxModel, options: LowerOptions = {}): FloatGraph {
  const constants = new Map<string, FloatTensor>(model.initializers)
  for (const [name, t] of Object.entries(options.bind ?? {})) constants.set(name, t)
  const shapes = new Map<string, number[]>()
  const alias = new Map<string, string>()
  const resolveName = (n: string) => alias.get(n) ?? n

  const inputs: FloatGraph['inputs'] = []
  for (const input of model.inputs) {
    if (constants.has(input.name)) continue
    const given = options.inputShapes?.[input.name]
    const shape = given ?? input.shape.map((d, i) => (typeof d === 'number' && d > 0 ? d : i === 0 ? 1 : Number.NaN))
    if (shape.some((d) => !Number.isInteger(d) || d <= 0)) {
      throw new InvalidModelError(`Input "${input.name}" has a symbolic dimension other than the batch`, {
        input: input.name,
        shape: input.shape,
      })
    }
    // Integer inputs are token ids (embedding indices), quantized with scale 1.
    if (!['float32', 'float64', 'float16', 'int64', 'int32'].includes(input.dtype)) {
      throw new UnsupportedOpError('Input', input.name, `element type ${input.dtype} (float, int64 and int32 inputs only)`)
    }
    inputs.push({ name: input.name, dtype: input.dtype as DType, shape })
    shapes.set(input.name, shape)
  }

  const ctx: ResolveContext = {
    opset: model.opset,
    shape(name) {
      const n = resolveName(name)
      const s = shapes.get(n) ?? constants.get(n)?.shape
      if (!s) throw new InvalidModelError(`Tensor "${name}" is used before it is produced`, { tensor: name })
      return s
    },
    constant: (name) => constants.get(resolveName(name)),
  }

  const nodes: FloatNode[] = []
  const pending = [...model.nodes]
  for (let at = 0; at < pending.length; at++) {
    const raw = pending[at] as OnnxNode
    const node: OnnxNode = { ...raw, inputs: raw.inputs.map((n) => (n === '' ? '' : resolveName(n))) }
    if (node.domain !== '' && node.domain !== 'ai.onnx') {
      throw new UnsupportedOpError(`${node.domain}.${node.opType}`, node.name, 'custom operator domain')
    }
    const expanded = expandGemm(node, ctx) ?? expandLegacyBroadcast(node, ctx) ?? expandSplit(node, ctx)
    if (expanded) {
      pending.splice(at + 1, 0, ...expanded)
      continue
    }
    if (!passThrough.has(node.opType) && !foldOnly.has(node.opType) && !onnxOps[node.opType]) {
      throw new UnsupportedOpError(node.opType, node.name)
    }
    const output = node.outputs[0]
    if (!output) throw new InvalidModelError(`Node "${node.name}" has no first output`, { node: node.name })
    if (passThrough.has(node.opType)) {
      alias.set(output, node.inputs[0] as string)
      continue
    }
    const folded = foldSpecial(node, ctx)
    if (folded) {
      constants.set(output, folded)
      continue
    }
    const op = onnxOps[node.opType]
    if (!op) throw new UnsupportedOpError(node.opType, node.name)
    const resolved = op.resolve(node, ctx)
    const inputs = (resolved.inputs ?? node.inputs).filter((n) => n !== '')
    for (const n of inputs) ctx.shape(n)
    const lowered: FloatNode = { name: node.name, op: node.opType, inputs, output, attrs: resolved.attrs }
    if (inputs.every((n) => constants.has(n))) {
      constants.set(
        output,
        op.evalFloat(
          lowered,
          inputs.map((n) => constants.get(n) as FloatTensor),
        ),
      )
      continue
    }
    shapes.set(output, resolved.shape)
    nodes.push(lowered)
  }

  const outputs = model.outputs.map((o) => resolveName(o.name))
  for (const o of outputs) {
    if (!shapes.has(o)) {
      throw new UnsupportedOpError('Output', o, constants.has(o) ? 'the output is a constant' : 'the output is never produced')
    }
  }
  return fuseGraph(fuseTransformer({ opset: model.opset, inputs, outputs, constants, nodes, shapes }))
}

/** A node the importer adds while rewriting `from`, named after it. */
function helperNode(from: OnnxNode, opType: string, inputs: string[], output: string, attrs: [string, AttrValue][]): OnnxNode {
  return { name: `${from.name}/${opType}`, opType, domain: '', inputs, outputs: [output], attrs: new Map(attrs) }
}

/**
 * Rewrites the Gemm variants the integer Dense op cannot express in one node into ops it can:
 * transA = 1 on an activation becomes Transpose then Gemm; a constant C that varies along the
 * rows of the output (a matrix bias) becomes Gemm without C, then Add of the constant beta · C.
 */
function expandGemm(node: OnnxNode, ctx: ResolveContext): OnnxNode[] | undefined {
  if (node.opType !== 'Gemm') return undefined
  const [a, b, c] = node.inputs as [string, string, string?]
  const attrs = new Map(node.attrs)
  const out = node.outputs[0] as string
  if (attrs.get('transA') === 1 && !ctx.constant(a) && ctx.shape(a).length === 2) {
    attrs.delete('transA')
    const t = `${out}::transA`
    return [helperNode(node, 'Transpose', [a], t, [['perm', [1, 0]]]), { ...node, inputs: [t, ...node.inputs.slice(1)], attrs }]
  }
  const bt = ctx.constant(b)
  const ct = c ? ctx.constant(c) : undefined
  if (!c || !ct || bt?.shape.length !== 2 || attrs.get('transA') === 1) return undefined
  const n = (attrs.get('transB') === 1 ? bt.shape[0] : bt.shape[1]) as number
  const shape = [ctx.shape(a)[0] as number, n]
  const size = sizeOf(shape)
  let varies = false
  for (let i = n; i < size && !varies; i++)
    varies = ct.data[broadcastIndex(shape, ct.shape, i)] !== ct.data[broadcastIndex(shape, ct.shape, i % n)]
  if (!varies) return undefined
  const beta = typeof attrs.get('beta') === 'number' ? (attrs.get('beta') as number) : 1
  attrs.delete('beta')
  const product = `${out}::product`
  const betaName = `${out}::beta`
  const scaled = `${out}::betaC`
  return [
    { ...node, inputs: [a, b], outputs: [product], attrs },
    helperNode(node, 'Constant', [], betaName, [['value', floatTensor([], Float64Array.of(beta))]]),
    helperNode(node, 'Mul', [c, betaName], scaled, []),
    helperNode(node, 'Add', [product, scaled], out, []),
  ]
}

/**
 * Before opset 7, Add, Sub, Mul and Div broadcast only with `broadcast = 1`, aligning B with A from
 * dimension `axis` (e.g. A [2,3,4,5], B [3,4], axis = 1) instead of from the right. Such a B is
 * reshaped with trailing 1s so that numpy broadcasting gives the same result.
 */
function expandLegacyBroadcast(node: OnnxNode, ctx: ResolveContext): OnnxNode[] | undefined {
  if (ctx.opset >= 7 || !['Add', 'Sub', 'Mul', 'Div'].includes(node.opType)) return undefined
  const axisAttr = node.attrs.get('axis')
  if (node.attrs.get('broadcast') !== 1 || typeof axisAttr !== 'number') return undefined
  const [a, b] = node.inputs as [string, string]
  const rank = ctx.shape(a).length
  const bShape = ctx.shape(b)
  const trailing = rank - normalizeAxis(axisAttr, rank) - bShape.length
  const attrs = new Map(node.attrs)
  attrs.delete('axis')
  attrs.delete('broadcast')
  if (trailing <= 0) return [{ ...node, attrs }]
  const out = node.outputs[0] as string
  const target = [...bShape, ...new Array<number>(trailing).fill(1)]
  const shapeName = `${out}::bShape`
  const aligned = `${out}::bAligned`
  return [
    helperNode(node, 'Constant', [], shapeName, [['value', floatTensor([target.length], Float64Array.from(target), 'int64')]]),
    helperNode(node, 'Reshape', [b, shapeName], aligned, []),
    { ...node, inputs: [a, aligned], attrs },
  ]
}

/** Folds the shape-computation ops that have no integer form: returns their constant value. */
function foldSpecial(node: OnnxNode, ctx: ResolveContext): FloatTensor | undefined {
  const constIn = (i: number) => {
    const c = ctx.constant(node.inputs[i] as string)
    if (!c) throw new UnsupportedOpError(node.opType, node.name, `input ${i} must be constant`)
    return c
  }
  switch (node.opType) {
    case 'Constant': {
      const a = node.attrs
      const t = a.get('value')
      if (t && typeof t === 'object' && !Array.isArray(t)) return t
      const f = a.get('value_float') ?? a.get('value_int')
      if (typeof f === 'number') return floatTensor([], Float64Array.of(f), a.has('value_int') ? 'int64' : 'float32')
      const fs = a.get('value_floats') ?? a.get('value_ints')
      if (Array.isArray(fs)) return floatTensor([fs.length], Float64Array.from(fs as number[]), a.has('value_ints') ? 'int64' : 'float32')
      throw new UnsupportedOpError('Constant', node.name, 'only tensor, float(s) and int(s) values')
    }
    case 'ConstantOfShape': {
      const shape = Array.from(constIn(0).data)
      const v = node.attrs.get('value')
      const fill = v && typeof v === 'object' && !Array.isArray(v) ? v : undefined
      return floatTensor(shape, new Float64Array(sizeOf(shape)).fill((fill?.data[0] as number) ?? 0), fill?.dtype ?? 'float32')
    }
    case 'Shape': {
      const shape = ctx.shape(node.inputs[0] as string)
      const start = normalizeAxis((node.attrs.get('start') as number | undefined) ?? 0, shape.length)
      const endAttr = node.attrs.get('end') as number | undefined
      const end = endAttr === undefined ? shape.length : normalizeAxis(endAttr, shape.length)
      const dims = shape.slice(Math.max(0, start), Math.min(shape.length, end))
      return floatTensor([dims.length], Float64Array.from(dims), 'int64')
    }
    case 'Equal': {
      const [x, y] = [constIn(0), constIn(1)]
      const shape = broadcastShapes(x.shape, y.shape)
      if (!shape) throw new InvalidModelError(`Equal "${node.name}" shapes do not broadcast`, { node: node.name })
      const data = new Float64Array(sizeOf(shape))
      for (let i = 0; i < data.length; i++)
        data[i] = x.data[broadcastIndex(shape, x.shape, i)] === y.data[broadcastIndex(shape, y.shape, i)] ? 1 : 0
      return floatTensor(shape, data, 'bool')
    }
    case 'Range': {
      const [start, limit, delta] = [0, 1, 2].map((i) => constIn(i).data[0] as number) as [number, number, number]
      const n = Math.max(0, Math.ceil((limit - start) / delta))
      if (!Number.isFinite(n) || n > 2 ** 24)
        throw new InvalidModelError(`Range "${node.name}" is empty-stepped or too long`, { node: node.name })
      return floatTensor(
        [n],
        Float64Array.from({ length: n }, (_, i) => start + i * delta),
        constIn(0).dtype,
      )
    }
    case 'Cast': {
      const c = ctx.constant(node.inputs[0] as string)
      if (!c) return undefined
      const to = node.attrs.get('to') as number
      const integral = [2, 3, 5, 6, 7, 9].includes(to)
      return {
        dtype: integral ? 'int64' : 'float32',
        shape: [...c.shape],
        data: integral ? c.data.map(Math.trunc) : Float64Array.from(c.data),
      }
    }
    default:
      return undefined
  }
}

/** Split becomes one Slice per output along the axis (sizes from the `split` input, attribute, or num_outputs). */
function expandSplit(node: OnnxNode, ctx: ResolveContext): OnnxNode[] | undefined {
  if (node.opType !== 'Split') return undefined
  const x = node.inputs[0] as string
  const shape = ctx.shape(x)
  const axis = normalizeAxis((node.attrs.get('axis') as number | undefined) ?? 0, shape.length)
  const dim = shape[axis] as number
  const splitName = node.inputs[1]
  let sizes: number[]
  if (splitName) {
    const c = ctx.constant(splitName)
    if (!c) throw new UnsupportedOpError('Split', node.name, 'split sizes must be constant')
    sizes = Array.from(c.data)
  } else {
    const attr = node.attrs.get('split')
    const parts = (node.attrs.get('num_outputs') as number | undefined) ?? node.outputs.length
    sizes = Array.isArray(attr)
      ? (attr as number[])
      : Array.from({ length: parts }, (_, i) => Math.min(Math.ceil(dim / parts), Math.max(0, dim - i * Math.ceil(dim / parts))))
  }
  if (sizes.length !== node.outputs.length || sizes.reduce((a, b) => a + b, 0) !== dim) {
    throw new InvalidModelError(`Split "${node.name}" sizes do not add up to the axis`, { node: node.name, sizes, dim })
  }
  const out: OnnxNode[] = []
  let start = 0
  sizes.forEach((size, k) => {
    const o = node.outputs[k] as string
    const int64 = (v: number) => floatTensor([1], Float64Array.of(v), 'int64')
    const names = ['starts', 'ends', 'axes'].map((p) => `${o}::${p}`) as [string, string, string]
    out.push(helperNode(node, 'Constant', [], names[0], [['value', int64(start)]]))
    out.push(helperNode(node, 'Constant', [], names[1], [['value', int64(start + size)]]))
    out.push(helperNode(node, 'Constant', [], names[2], [['value', int64(axis)]]))
    out.push({ ...helperNode(node, 'Slice', [x, ...names], o, []), name: `${node.name}/Slice_${k}` })
    start += size
  })
  return out
}
