import { intOps, type LoadedModel, type Trace } from '@verity/runtime'

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
}

/** A shape left-padded with ones to `rank` (numpy broadcasting). */
const padded = (shape: readonly number[], rank: number) => [...new Array<number>(rank - shape.length).fill(1), ...shape]

export type OneStepRead = { input: number; index: number; value: bigint }
export type OneStepCase = { op: number; params: bigint[]; outIndex: bigint; tape: OneStepRead[]; value: number }

const asBig = (values: number[]) => values.map((v) => BigInt(v))

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
      return { op, params: asBig([a.d!, a.inner!, a.r!]) }
    case 'LRN':
      return { op, params: asBig([a.size!, a.c!, a.plane!]) }
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
