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
