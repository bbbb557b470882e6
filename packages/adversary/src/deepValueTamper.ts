import type { LoadedModel } from '@verity/runtime'
import type { Hex } from 'viem'

/**
 * The `deep-value` corruption for one input: value (inputHash mod size) of the output of op
 * `nodes.length − 3` (an intermediate op: for mnist-8 its second MaxPool) is raised by 200. The same
 * input always gets the same corruption, so the cheating node can replay the run it answered when disputed.
 */
export function deepValueTamper(model: LoadedModel, inputHash: Hex): (node: number, output: Int16Array) => void {
  const target = Math.max(0, model.nodes.length - 3)
  const seed = Number.parseInt(inputHash.slice(2, 10), 16)
  return (node, output) => {
    if (node !== target) return
    const i = seed % output.length
    output[i] = Math.min(32767, output[i]! + 200)
  }
}
