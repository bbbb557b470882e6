import { InvalidModelError } from '../errors.js'
import { runQuantized } from '../execute.js'
import type { TensorInfo } from '../model.js'
import { intOps } from '../ops/registry.js'
import type { IntNode, IntOp } from '../ops/types.js'
import type { IntArray } from '../tensor.js'
import { sizeOf } from '../tensor.js'
import type { LanguageModel } from './languageModel.js'

/** Incremental decoding: feed tokens, get their logits rows. */
export type Decoder = {
  /** Number of tokens consumed so far. */
  readonly position: number
  /** Consumes `tokens` and returns their logits, [tokens.length × vocab] int16 (row-major). */
  append(tokens: readonly number[]): Int16Array
}

/** Copies rows [r0, r1) along `axis` of a row-major tensor. */
export function sliceAxis<T extends IntArray>(data: T, shape: readonly number[], axis: number, r0: number, r1: number): T {
  const dim = shape[axis] as number
  const inner = sizeOf(shape.slice(axis + 1))
  const outer = sizeOf(shape.slice(0, axis))
  const n = r1 - r0
  const out = new (data.constructor as new (n: number) => T)(outer * n * inner)
  for (let o = 0; o < outer; o++) out.set(data.subarray((o * dim + r0) * inner, (o * dim + r1) * inner), o * n * inner)
  return out
}

/** Writes `part` (rows [r0, r0 + n) along `axis`) into the full tensor. */
function writeAxis(full: Int16Array, shape: readonly number[], axis: number, r0: number, part: Int16Array): void {
  const dim = shape[axis] as number
  const inner = sizeOf(shape.slice(axis + 1))
  const outer = sizeOf(shape.slice(0, axis))
  const n = part.length / (outer * inner)
  for (let o = 0; o < outer; o++) full.set(part.subarray(o * n * inner, (o + 1) * n * inner), (o * dim + r0) * inner)
}

/** Operand positions of a node whose constants may carry the sequence axis (masks, positions, rotary tables). */
function positionalOperands(node: IntNode): number[] {
  if (node.op === 'Add' || node.op === 'Concat') return Array.from({ length: node.attrs.n as number }, (_, i) => i)
  if (node.op === 'Mul') return [0, 1]
  if (node.op === 'MaskFill') return [1]
  return []
}

/**
 * A decoder over a language model. With step axes (a model imported from ONNX), it runs every op
 * on the new rows only and keeps, as the key/value cache, the full tensors read as the right-hand
 * operand of MatMulAct (keys and values, after their transposes). Each op is the same integer
 * function on the same values, and cached rows past the current position only meet masked scores
 * (weight exactly 0), so the logits are bit for bit those of one run over the whole sequence.
 * Without step axes (a bare artifact), each call re-runs the padded context.
 *
 * @example
 * const d = createDecoder(lm)
 * const prompt = d.append([1, 403, 407]) // 3 rows of logits
 * const next = d.append([261])           // 1 row, reusing the cache
 */
export function createDecoder(lm: LanguageModel): Decoder {
  return lm.stepAxes ? cachedDecoder(lm, lm.stepAxes) : paddedDecoder(lm)
}

function checkTokens(lm: LanguageModel, position: number, tokens: readonly number[]): void {
  if (tokens.length === 0) throw new InvalidModelError('append needs at least one token', { tokens: 0 })
  if (position + tokens.length > lm.context) {
    throw new InvalidModelError('The sequence would exceed the model context', { context: lm.context, position, tokens: tokens.length })
  }
  for (const t of tokens) {
    if (!Number.isInteger(t) || t < 0 || t >= lm.vocab)
      throw new InvalidModelError('Token id out of the vocabulary', { token: t, vocab: lm.vocab })
  }
}

function paddedDecoder(lm: LanguageModel): Decoder {
  const seq: number[] = []
  return {
    get position() {
      return seq.length
    },
    append(tokens) {
      checkTokens(lm, seq.length, tokens)
      const start = seq.length
      seq.push(...tokens)
      const x = new Int16Array(lm.context)
      x.set(seq)
      const logits = runQuantized(lm.model, [x]).outputs[0] as Int16Array
      return logits.slice(start * lm.vocab, seq.length * lm.vocab)
    },
  }
}

function cachedDecoder(lm: LanguageModel, stepAxes: readonly number[]): Decoder {
  const { model, nodes } = lm.model
  const tensors = model.tensors as TensorInfo[]
  const cachedIds = new Set(
    nodes.filter((n) => n.op === 'MatMulAct' && !model.constants.has(n.inputs[1] as number)).map((n) => n.inputs[1] as number),
  )
  const cache = new Map<number, Int16Array>()
  for (const id of cachedIds) cache.set(id, new Int16Array(sizeOf((tensors[id] as TensorInfo).shape)))
  const lastUse = new Map<number, number>()
  for (const node of nodes) for (const id of node.inputs) lastUse.set(id, node.index)
  let position = 0

  const stepShape = (id: number, n: number): number[] => {
    const shape = [...(tensors[id] as TensorInfo).shape]
    const a = stepAxes[id] as number
    if (a >= 0) shape[a] = n
    return shape
  }

  return {
    get position() {
      return position
    },
    append(tokens) {
      checkTokens(lm, position, tokens)
      const n = tokens.length
      const r0 = position
      const values = new Map<number, Int16Array>()
      values.set(model.inputs[0] as number, Int16Array.from(tokens))
      for (const node of nodes) {
        const positional = new Set(positionalOperands(node))
        const outStep = stepAxes[node.output] as number
        const outShape = stepShape(node.output, n)
        const inShapes: number[][] = []
        const args: IntArray[] = node.inputs.map((id, pos) => {
          const c = model.constants.get(id)
          if (c) {
            const shape = (tensors[id] as TensorInfo).shape
            const align = node.outShape.length - shape.length
            const axis = outStep - align
            if (positional.has(pos) && axis >= 0 && shape[axis] === node.outShape[outStep] && (shape[axis] as number) > 1) {
              const s = [...shape]
              s[axis] = n
              inShapes.push(s)
              return sliceAxis(c, shape, axis, r0, r0 + n)
            }
            inShapes.push(shape)
            return c
          }
          if (cache.has(id) && node.op === 'MatMulAct' && pos === 1) {
            inShapes.push((tensors[id] as TensorInfo).shape)
            return cache.get(id) as Int16Array
          }
          inShapes.push(stepShape(id, n))
          return values.get(id) as Int16Array
        })
        const attrs = node.op === 'Softmax' ? softmaxAttrs(node, outShape) : node.attrs
        const step: IntNode = { ...node, attrs, inShapes, outShape }
        const out = (intOps[node.op] as IntOp).run(step, args) as Int16Array
        if (out.length !== sizeOf(outShape)) {
          throw new InvalidModelError(`Node "${node.name}" cannot run on a slice of the sequence`, { node: node.name, op: node.op })
        }
        values.set(node.output, out)
        const full = cache.get(node.output)
        if (full) writeAxis(full, (tensors[node.output] as TensorInfo).shape, outStep, r0, out)
        for (const id of node.inputs) if (lastUse.get(id) === node.index && !model.outputs.includes(id)) values.delete(id)
      }
      position += n
      return values.get(model.outputs[0] as number) as Int16Array
    },
  }
}

/** Softmax's group layout (d values spaced `inner` apart) recomputed for the sliced shape. */
function softmaxAttrs(node: IntNode, outShape: readonly number[]): IntNode['attrs'] {
  const d = node.attrs.d as number
  const inner = node.attrs.inner as number
  const full = node.outShape
  for (let a = full.length - 1; a >= 0; a--) {
    if (full[a] === d && sizeOf(full.slice(a + 1)) === inner)
      return { ...node.attrs, d: outShape[a] as number, inner: sizeOf(outShape.slice(a + 1)) }
  }
  return node.attrs
}
