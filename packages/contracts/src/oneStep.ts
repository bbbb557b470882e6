import { CHUNK_BYTES, intOps, type LoadedModel, leafHash, nodeHash, type Trace, tensorBytes, toHex } from '@verity/runtime/core'
import type { Hex } from 'viem'

/** Op codes of contracts/onestep/OneStep.sol. */
export const ONE_STEP_OPS: Record<string, number> = {
  Reshape: 1,
  Relu: 2,
  Conv: 3,
  Dense: 4,
  MaxPool: 5,
  AveragePool: 6,
  LeakyRelu: 7,
  Clip: 8,
  Lut: 9,
  ChannelAffine: 10,
  Mul: 11,
  Add: 12,
  Transpose: 13,
  Concat: 14,
  MatMulAct: 15,
  Softmax: 16,
  LRN: 17,
  Gather: 18,
  Slice: 19,
  Tile: 20,
  Expand: 21,
  MaskFill: 22,
  Norm: 23,
}

/** A shape left-padded with ones to `rank` (numpy broadcasting). */
const padded = (shape: readonly number[], rank: number) => [...new Array<number>(rank - shape.length).fill(1), ...shape]

export type OneStepRead = { input: number; index: number; value: bigint }
export type OneStepCase = { op: number; params: bigint[]; outIndex: bigint; tape: OneStepRead[]; value: number }

const asBig = (values: number[]) => values.map((v) => BigInt(v))
const product = (shape: readonly number[]) => shape.reduce((x, y) => x * y, 1)
const stridesOf = (shape: readonly number[]) => shape.map((_, i) => product(shape.slice(i + 1)))

/** The parameter vector OneStep.sol expects for a node (docs: the layout next to each op there). */
export function oneStepParams(model: LoadedModel, opIndex: number): { op: number; params: bigint[] } {
  const node = model.nodes[opIndex]!
  const op = ONE_STEP_OPS[node.op]
  if (op === undefined) throw new RangeError(`the one-step check does not implement ${node.op} yet`)
  const a = node.attrs as Record<string, number>
  const window = [a.kh!, a.kw!, a.sh!, a.sw!, a.dh!, a.dw!, a.pt!, a.pl!]
  switch (node.op) {
    case 'Conv': {
      const shape = node.inShapes[0]!
      const [c, h, w] = shape.length === 4 ? [shape[1]!, shape[2]!, shape[3]!] : [shape[1]!, 1, shape[2]!]
      return { op, params: asBig([a.m!, a.group!, ...window, a.oh!, a.ow!, c, h, w]) }
    }
    case 'Dense':
      return { op, params: asBig([a.n!, a.k!]) }
    case 'MaxPool':
    case 'AveragePool':
      return { op, params: asBig([...window, a.pb!, a.pr!, a.oh!, a.ow!, a.h!, a.w!, a.includePad ?? 0]) }
    case 'Clip':
      return { op, params: asBig([a.lo!, a.hi!]) }
    case 'ChannelAffine':
      return { op, params: asBig([a.plane!, a.c!]) }
    case 'Mul': {
      const rank = node.outShape.length
      return { op, params: asBig([rank, ...node.outShape, ...padded(node.inShapes[0]!, rank), ...padded(node.inShapes[1]!, rank)]) }
    }
    case 'Add': {
      const rank = node.outShape.length
      const n = a.n!
      return { op, params: asBig([n, rank, ...node.outShape, ...node.inShapes.slice(0, n).flatMap((shape) => padded(shape, rank))]) }
    }
    case 'Transpose': {
      const inShape = node.inShapes[0]!
      const strides = inShape.map((_, i) => inShape.slice(i + 1).reduce((x, y) => x * y, 1))
      return { op, params: asBig([inShape.length, ...inShape, ...(node.attrs.perm as number[]), ...strides]) }
    }
    case 'Concat': {
      const n = a.n!
      const axis = a.axis!
      const shapes = node.inShapes.slice(0, n)
      const inner = shapes[0]!.slice(axis + 1).reduce((x, y) => x * y, 1)
      return { op, params: asBig([n, inner, shapes.reduce((sum, sh) => sum + sh[axis]!, 0), ...shapes.map((sh) => sh[axis]!)]) }
    }
    case 'MatMulAct': {
      // 1-D operands are promoted as numpy does: A [K] → [1, K], B [K] → [K, 1].
      const [sa, sb] = [node.inShapes[0]!, node.inShapes[1]!]
      const a2 = sa.length === 1 ? [1, sa[0]!] : sa
      const b2 = sb.length === 1 ? [sb[0]!, 1] : sb
      const [batchA, batchB] = [a2.slice(0, -2), b2.slice(0, -2)]
      const rank = Math.max(batchA.length, batchB.length)
      const pa = padded(batchA, rank)
      const pb = padded(batchB, rank)
      const batchOut = pa.map((d, i) => Math.max(d, pb[i]!))
      return { op, params: asBig([a2.at(-2)!, b2.at(-1)!, a2.at(-1)!, rank, ...batchOut, ...pa, ...pb]) }
    }
    case 'Softmax':
      // A masked softmax (after a −∞ mask) carries a fourth parameter; an unmasked one keeps three.
      return { op, params: asBig([a.d!, a.inner!, a.r!, ...(a.masked === 1 ? [1] : [])]) }
    case 'LRN':
      return { op, params: asBig([a.size!, a.c!, a.plane!]) }
    case 'Gather': {
      const shape = node.inShapes[0]!
      return { op, params: asBig([shape[a.axis!]!, product(shape.slice(a.axis! + 1)), product(node.inShapes[1]!)]) }
    }
    case 'Slice': {
      const inShape = node.inShapes[0]!
      const [starts, steps] = [node.attrs.starts as number[], node.attrs.steps as number[]]
      return { op, params: asBig([inShape.length, ...node.outShape, ...stridesOf(inShape), ...starts, ...steps]) }
    }
    case 'Tile': {
      const inShape = node.inShapes[0]!
      return { op, params: asBig([inShape.length, ...node.outShape, ...inShape, ...stridesOf(inShape)]) }
    }
    case 'Expand': {
      const rank = node.outShape.length
      return { op, params: asBig([rank, ...node.outShape, ...padded(node.inShapes[0]!, rank)]) }
    }
    case 'MaskFill': {
      const rank = node.outShape.length
      const [x, m] = [padded(node.inShapes[0]!, rank), padded(node.inShapes[1]!, rank)]
      return { op, params: asBig([rank, ...node.outShape, ...x, ...m, a.fill!]) }
    }
    case 'Norm':
      return { op, params: asBig([node.outShape.at(-1)!, a.center!, a.e!, a.f!]) }
    default:
      return { op, params: [] }
  }
}

/**
 * One value of one op as the on-chain one-step check consumes it: the op's parameters, and the tape
 * of every value the reference definition reads, in order, taken from a run's trace and the
 * model's constants. `value` is what the definition computes.
 */
export function oneStepCase(model: LoadedModel, trace: Trace, opIndex: number, outIndex: number): OneStepCase {
  const node = model.nodes[opIndex]!
  const tape: OneStepRead[] = []
  const value = intOps[node.op]!.evalOne(node, outIndex, (input, index) => {
    const id = node.inputs[input]!
    const tensor = trace.tensors.get(id) ?? model.model.constants.get(id)
    const v = Number(tensor![index])
    tape.push({ input, index, value: BigInt(v) })
    return v
  })
  return { ...oneStepParams(model, opIndex), outIndex: BigInt(outIndex), tape, value }
}

export type OneStepTensor = { root: Hex; elements: number; width: number }
export type OneStepOpening = { input: number; chunk: number; data: Hex; proof: Hex[] }
export type OneStepProofCase = OneStepCase & { inputs: OneStepTensor[]; openingOf: number[]; openings: OneStepOpening[] }

const ZERO = new Uint8Array(32)

/** Levels of a tensor's chunk tree (level 0: leaf hashes), as docs/semantics.md §6 defines it. */
function chunkTree(bytes: Uint8Array): Uint8Array[][] {
  const leaves: Uint8Array[] = []
  for (let at = 0; at < Math.max(bytes.length, 1); at += CHUNK_BYTES) leaves.push(leafHash(bytes.subarray(at, at + CHUNK_BYTES)))
  let level = leaves
  while (level.length & (level.length - 1)) level = [...level, ZERO]
  const levels = [level]
  while (level.length > 1) {
    const next: Uint8Array[] = []
    for (let i = 0; i < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!))
    levels.push(next)
    level = next
  }
  return levels
}

/**
 * A one-step case with every read opened: the op's input tensors (root, size, element width), one
 * Merkle-proven 64-byte chunk per distinct (input, chunk) the tape touches, and for each read the
 * opening that holds it — what `OneStepProof.verifyTape` checks on-chain.
 */
export function oneStepProofCase(model: LoadedModel, trace: Trace, opIndex: number, outIndex: number): OneStepProofCase {
  const c = oneStepCase(model, trace, opIndex, outIndex)
  return { ...c, ...openTape(model, trace, opIndex, c.tape) }
}

/** The reads of a one-step as `OneStepVerifier.Reads`: input tensors, tape, and the proven chunks holding it. */
export type OneStepReads = { inputs: OneStepTensor[]; tape: OneStepRead[]; openingOf: number[]; openings: OneStepOpening[] }

/** Opens every read of `tape` (reads of op `opIndex`): one Merkle-proven chunk per distinct (input, chunk). */
export function openTape(model: LoadedModel, trace: Trace, opIndex: number, tape: OneStepRead[]): OneStepReads {
  const node = model.nodes[opIndex]!
  const tensors = node.inputs.map((id) => (trace.tensors.get(id) ?? model.model.constants.get(id))!)
  const trees = new Map<number, Uint8Array[][]>()
  const bytesOf = new Map<number, Uint8Array>()
  const bytes = (i: number) => {
    let b = bytesOf.get(i)
    if (!b) {
      b = tensorBytes(tensors[i]!)
      bytesOf.set(i, b)
    }
    return b
  }
  const tree = (i: number) => {
    let levels = trees.get(i)
    if (!levels) {
      levels = chunkTree(bytes(i))
      trees.set(i, levels)
    }
    return levels
  }
  const inputs = tensors.map((t, i) => ({ root: toHex(tree(i).at(-1)![0]!) as Hex, elements: t.length, width: t.BYTES_PER_ELEMENT }))
  const openings: OneStepOpening[] = []
  const byKey = new Map<string, number>()
  const openingOf = tape.map((read) => {
    const chunk = Math.floor((read.index * inputs[read.input]!.width) / CHUNK_BYTES)
    const key = `${read.input}:${chunk}`
    let at = byKey.get(key)
    if (at === undefined) {
      const levels = tree(read.input)
      const data = new Uint8Array(CHUNK_BYTES)
      data.set(bytes(read.input).subarray(chunk * CHUNK_BYTES, (chunk + 1) * CHUNK_BYTES))
      const proof: Hex[] = []
      for (let l = 0, i = chunk; l < levels.length - 1; l++, i >>= 1) proof.push(toHex(levels[l]![i ^ 1]!) as Hex)
      at = openings.push({ input: read.input, chunk, data: toHex(data) as Hex, proof }) - 1
      byKey.set(key, at)
    }
    return at
  })
  return { inputs, tape, openingOf, openings }
}

// ─── folds, step by step (OneStep.sol `evalTerm` / `evalFinish`) ────────────────────────────

/** Whether op `opIndex` is a fold a dispute can bisect step by step (Conv, Dense, MatMulAct, Softmax, Norm). */
export function isSumOp(model: LoadedModel, opIndex: number): boolean {
  const op = model.nodes[opIndex]!.op
  return op === 'Conv' || op === 'Dense' || op === 'MatMulAct' || op === 'Softmax' || op === 'Norm'
}

type SumLayout = { terms: number; bias?: [number, number]; finish: [number, number][]; term(i: number): [number, number][] }

/** Where each part of output value `outIndex` of a dot-product op reads: (input, index) pairs. */
function sumLayout(model: LoadedModel, opIndex: number, outIndex: number): SumLayout {
  const { params } = oneStepParams(model, opIndex)
  const p = params.map(Number)
  const op = model.nodes[opIndex]!.op
  if (op === 'Conv') {
    const [m, group, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, c, h, w] = p as [number, ...number[]] as number[]
    const oc = Math.floor(outIndex / (ow! * oh!)) % m!
    const cg = c! / group!
    const ox = outIndex % ow!
    const oy = Math.floor(outIndex / ow!) % oh!
    const b = Math.floor(outIndex / (ow! * oh! * m!))
    const inBase = b * c! + Math.floor(oc / (m! / group!)) * cg
    return {
      terms: cg * kh! * kw!,
      bias: [2, oc],
      finish: [
        [3, oc],
        [4, oc],
      ],
      term(i) {
        const ic = Math.floor(i / (kh! * kw!))
        const ky = Math.floor(i / kw!) % kh!
        const kx = i % kw!
        const iy = oy * sh! - pt! + ky * dh!
        const ix = ox * sw! - pl! + kx * dw!
        if (iy < 0 || iy >= h! || ix < 0 || ix >= w!) return []
        return [
          [0, ((inBase + ic) * h! + iy) * w! + ix],
          [1, ((oc * cg + ic) * kh! + ky) * kw! + kx],
        ]
      },
    }
  }
  if (op === 'Dense') {
    const [n, k] = p as [number, number]
    const j = outIndex % n
    const r = Math.floor(outIndex / n)
    return {
      terms: k,
      bias: [2, j],
      finish: [
        [3, j],
        [4, j],
      ],
      term: (i) => [
        [0, r * k + i],
        [1, j * k + i],
      ],
    }
  }
  // MatMulAct: p = [m, n, k, batchRank, batch out, batch a, batch b].
  const [m, n, k, br] = p as [number, number, number, number]
  const broadcast = (outAt: number, inAt: number, index: number) => {
    let inIndex = 0
    let inStride = 1
    let rest = index
    for (let i = br; i > 0; i--) {
      const d = p[outAt + i - 1]!
      const coord = rest % d
      rest = Math.floor(rest / d)
      const di = p[inAt + i - 1]!
      if (di !== 1) inIndex += coord * inStride
      inStride *= di
    }
    return inIndex
  }
  const bi = Math.floor(outIndex / (n * m))
  const oa = broadcast(4, 4 + br, bi) * m * k + (Math.floor(outIndex / n) % m) * k
  const ob = broadcast(4, 4 + 2 * br, bi) * k * n + (outIndex % n)
  return {
    terms: k,
    finish: [
      [2, 0],
      [3, 0],
    ],
    term: (i) => [
      [0, oa + i],
      [1, ob + i * n],
    ],
  }
}

type Read = (input: number, index: number) => bigint

/** One op's fold for output value `outIndex`: its step count, step i from acc_i, and the finish. */
type Fold = { steps: number; step(i: number, acc: bigint, read: Read): bigint; finish(acc: bigint, read: Read): bigint }

const rshiftBig = (v: bigint, s: bigint) => (s === 0n ? v : (v + (1n << (s - 1n))) >> s)
const sat16Big = (v: bigint) => (v > 32767n ? 32767n : v < -32768n ? -32768n : v)
/** ⌊a / b⌋ for b > 0 (BigInt division truncates toward zero). */
const floorDivBig = (a: bigint, b: bigint) => (a < 0n && a % b !== 0n ? a / b - 1n : a / b)
/** ⌊√v⌋ for v ≥ 0 (Newton's method from above). */
function isqrtBig(v: bigint): bigint {
  if (v < 2n) return v
  let x = 1n << BigInt((v.toString(2).length >> 1) + 1)
  for (;;) {
    const y = (x + v / x) >> 1n
    if (y >= x) return x
    x = y
  }
}

/** The fold of output value `outIndex` of a foldable op, mirroring OneStep.sol. */
function foldOf(model: LoadedModel, opIndex: number, outIndex: number): Fold {
  const node = model.nodes[opIndex]!
  const p = oneStepParams(model, opIndex).params.map(Number)
  if (node.op === 'Softmax') {
    const [d, inner, r, maskedParam] = p as [number, number, number, number?]
    const masked = maskedParam === 1
    const dead = (v: bigint) => masked && v === -32768n
    const base = Math.floor(outIndex / (d * inner)) * d * inner + (outIndex % inner)
    const expAt = (dist: bigint, read: Read): bigint => {
      const k = dist >> BigInt(r)
      if (k >= 4096n || k < 0n) return 0n
      const f = dist - (k << BigInt(r))
      const lo = read(1, Number(k))
      if (f === 0n) return lo
      return lo + rshiftBig((read(1, Number(k) + 1) - lo) * f, BigInt(r))
    }
    const unpack = (acc: bigint) => ({ max: (acc & 0xffffn) - 32768n, sum: acc >> 16n })
    return {
      steps: 2 * d,
      step(i, acc, read) {
        let { max, sum } = unpack(i === 0 ? 0n : acc)
        const v = read(0, base + (i < d ? i : i - d) * inner)
        if (i < d) {
          if (v > max && !dead(v)) max = v
        } else if (!dead(v)) sum += expAt(max - v, read)
        return sum * 65536n + (max + 32768n)
      },
      finish(acc, read) {
        const { max, sum } = unpack(acc)
        // A live value of a masked softmax is above −32768: the max stays there only when none is live.
        if (masked && max === -32768n) return 0n
        if (sum <= 0n) throw new RangeError('a softmax accumulator needs a positive sum')
        const v = read(0, outIndex)
        const own = dead(v) ? 0n : expAt(max - v, read)
        return (2n * 32767n * own + sum) / (2n * sum)
      },
    }
  }
  if (node.op === 'Norm') {
    const [d, center, e, f] = p as [number, number, number, number]
    const row = outIndex - (outIndex % d)
    const unpack = (acc: bigint) => ({ s1: (acc & 0xffffffffn) - 0x80000000n, s2: acc >> 32n })
    return {
      steps: d,
      step(i, acc, read) {
        let { s1, s2 } = i === 0 ? { s1: 0n, s2: 0n } : unpack(acc)
        const v = read(0, row + i)
        s1 += v
        s2 += v * v
        return s2 * 0x100000000n + (s1 + 0x80000000n)
      },
      finish(acc, read) {
        const { s1, s2 } = unpack(acc)
        const D = BigInt(d)
        const total = center ? D * s2 - s1 * s1 + BigInt(e) : D * s2 + BigInt(e)
        if (total < 1n) throw new RangeError('a norm accumulator needs a positive T')
        const div = isqrtBig(total) << BigInt(f)
        const j = outIndex % d
        const x = read(0, outIndex)
        const g = read(1, j)
        const n = (D * x - (center ? s1 : 0n)) * g
        return sat16Big(floorDivBig(2n * n + div, 2n * div) + read(2, j))
      },
    }
  }
  const layout = sumLayout(model, opIndex, outIndex)
  return {
    steps: layout.terms,
    step(i, acc, read) {
      const start = i === 0 ? (layout.bias ? read(...layout.bias) : 0n) : acc
      const at = layout.term(i)
      return at.length === 0 ? start : start + read(...at[0]!) * read(...at[1]!)
    },
    finish(acc, read) {
      const [mul, shift] = layout.finish.map(([input, index]) => read(input, index))
      return sat16Big(rshiftBig(acc * mul!, shift!))
    },
  }
}

/**
 * The partial states of output value `outIndex` of a foldable op in `trace`: acc[i + 1] is the state
 * after step i (acc[0] is unused: step 0 starts from the bias, or from nothing), so acc[K] is what
 * the op finishes into its value.
 */
export function partialSums(model: LoadedModel, trace: Trace, opIndex: number, outIndex: number): bigint[] {
  const fold = foldOf(model, opIndex, outIndex)
  const read = valueReader(model, trace, opIndex)
  const acc: bigint[] = [0n]
  for (let i = 0; i < fold.steps; i++) acc.push(fold.step(i, acc[i]!, read))
  return acc
}

/** The value a foldable op finishes accumulator `acc` into (undefined when it cannot, e.g. a zero softmax sum). */
export function sumValue(model: LoadedModel, trace: Trace, opIndex: number, outIndex: number, acc: bigint): bigint | undefined {
  try {
    return foldOf(model, opIndex, outIndex).finish(acc, valueReader(model, trace, opIndex))
  } catch (error) {
    if (error instanceof RangeError) return undefined
    throw error
  }
}

/**
 * The opened tape of step `part` from state `acc` (the bias, if any, comes first in step 0), or of the
 * finish of `acc`: what `OneStepVerifier.evaluateTerm` / `evaluateFinish` read.
 */
export function sumReads(
  model: LoadedModel,
  trace: Trace,
  opIndex: number,
  outIndex: number,
  part: number | 'finish',
  acc: bigint,
): OneStepReads {
  const fold = foldOf(model, opIndex, outIndex)
  const value = valueReader(model, trace, opIndex)
  const tape: OneStepRead[] = []
  const read: Read = (input, index) => {
    const v = value(input, index)
    tape.push({ input, index, value: v })
    return v
  }
  if (part === 'finish') fold.finish(acc, read)
  else fold.step(part, acc, read)
  return openTape(model, trace, opIndex, tape)
}

function valueReader(model: LoadedModel, trace: Trace, opIndex: number): Read {
  const node = model.nodes[opIndex]!
  return (input, index) => {
    const id = node.inputs[input]!
    return BigInt((trace.tensors.get(id) ?? model.model.constants.get(id))![index]!)
  }
}
