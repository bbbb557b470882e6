import { buildReceiptTree, type ReceiptTree } from '@verity/protocol'
import type { LoadedModel, TensorInfo } from '@verity/runtime/core'
import { encodeAbiParameters, type Hex, keccak256 } from 'viem'
import { oneStepParams } from './oneStep.js'

/** Where an op input lives (contracts/dispute/ModelGraph.sol `InputRef`). */
export type GraphInputRef = { isConst: boolean; leaf: number; elements: number; width: number }
/** One op as the one-step check evaluates it (`ModelGraph.Op`). */
export type GraphOp = { opCode: number; params: bigint[]; inputs: GraphInputRef[]; outElements: number; outWidth: number }
/** The shape of the trace and weights trees and the op tree's root (`ModelGraph.Header`). */
export type GraphHeader = { inputCount: number; leafCount: number; constCount: number; outputLeaves: number[]; opsRoot: Hex }

/** A model's graph commitment: every op, the op tree, the header and `graphRoot` = keccak256(header). */
export type ModelGraph = { ops: GraphOp[]; opHashes: Hex[]; opsTree: ReceiptTree; header: GraphHeader; graphRoot: Hex }

const inputRefAbi = {
  type: 'tuple',
  components: [
    { name: 'isConst', type: 'bool' },
    { name: 'leaf', type: 'uint32' },
    { name: 'elements', type: 'uint32' },
    { name: 'width', type: 'uint8' },
  ],
} as const
export const graphOpAbi = {
  type: 'tuple',
  components: [
    { name: 'opCode', type: 'uint8' },
    { name: 'params', type: 'int256[]' },
    { ...inputRefAbi, name: 'inputs', type: 'tuple[]' },
    { name: 'outElements', type: 'uint32' },
    { name: 'outWidth', type: 'uint8' },
  ],
} as const
export const graphHeaderAbi = {
  type: 'tuple',
  components: [
    { name: 'inputCount', type: 'uint32' },
    { name: 'leafCount', type: 'uint32' },
    { name: 'constCount', type: 'uint32' },
    { name: 'outputLeaves', type: 'uint32[]' },
    { name: 'opsRoot', type: 'bytes32' },
  ],
} as const

const WIDTH = { int8: 1, int16: 2, int32: 4 } as const

/** `ModelGraph.hashOp`: keccak256 of the ABI-encoded op. */
export function hashGraphOp(op: GraphOp): Hex {
  return keccak256(encodeAbiParameters([graphOpAbi], [op]))
}

/**
 * The graph commitment of a model, derived from the model alone (docs/disputes.md): trace leaf i
 * is the model's input i, then op i writes leaf `inputCount + i`; constants are leaves of the
 * weights tree in `constIds` order. Registered as `graphRoot` with the model.
 *
 * @example
 * const { graphRoot } = modelGraph(model)
 */
export function modelGraph(model: LoadedModel): ModelGraph {
  const leaves = [...model.model.inputs, ...model.nodes.map((n) => n.output)]
  const leafOf = new Map(leaves.map((id, i) => [id, i]))
  const constOf = new Map(model.constIds.map((id, i) => [id, i]))
  const sizeOf = (info: TensorInfo) => info.shape.reduce((a, b) => a * b, 1)
  const ops = model.nodes.map((node, i): GraphOp => {
    const { op, params } = oneStepParams(model, i)
    const out = model.model.tensors[node.output]!
    return {
      opCode: op,
      params,
      inputs: node.inputs.map((id) => {
        const info = model.model.tensors[id]!
        const isConst = info.kind === 'const'
        const leaf = isConst ? constOf.get(id) : leafOf.get(id)
        if (leaf === undefined) throw new RangeError(`tensor ${id} read by op ${i} is neither a constant nor an earlier trace leaf`)
        return { isConst, leaf, elements: sizeOf(info), width: WIDTH[info.dtype] }
      }),
      outElements: sizeOf(out),
      outWidth: WIDTH[out.dtype],
    }
  })
  const opHashes = ops.map(hashGraphOp)
  const opsTree = buildReceiptTree(opHashes)
  const header: GraphHeader = {
    inputCount: model.model.inputs.length,
    leafCount: leaves.length,
    constCount: model.constIds.length,
    outputLeaves: model.model.outputs.map((id) => leafOf.get(id)!),
    opsRoot: opsTree.root,
  }
  return { ops, opHashes, opsTree, header, graphRoot: keccak256(encodeAbiParameters([graphHeaderAbi], [header])) }
}

/** Turns in the longest dispute game (DisputeGame.MAX_TURNS). */
export const MAX_DISPUTE_TURNS = 1 + 2 * 32 + 1 + 2 * 28 + 1 + 1 + 1 + 2 * 32 + 1
