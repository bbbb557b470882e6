import { InvalidModelError } from '../errors.js'
import type { LoadedModel } from '../loadModel.js'
import { loadModel } from '../loadModel.js'
import type { TensorInfo } from '../model.js'

/**
 * A quantized decoder-only language model: the integer graph at a fixed context length C (input
 * token ids int16 [1, C], output logits [1, C, V]), and — when it was imported from ONNX in this
 * process — the sequence ("step") axis of every activation, which incremental decoding needs.
 */
export type LanguageModel = {
  model: LoadedModel
  context: number
  vocab: number
  /** Real value of one logit step. */
  logitScale: number
  /** By tensor id: the axis indexed by token position, or -1. Absent for a bare artifact. */
  stepAxes?: readonly number[]
}

/**
 * A language model from an artifact alone. Without step axes it decodes by re-running the padded
 * context for every token (the same logits, bit for bit, as incremental decoding).
 */
export function languageModelFromArtifact(artifact: Uint8Array): LanguageModel {
  return languageModelOf(loadModel(artifact))
}

export function languageModelOf(model: LoadedModel, stepAxes?: readonly number[]): LanguageModel {
  const { inputs, outputs, tensors } = model.model
  const input = tensors[inputs[0] as number] as TensorInfo
  const output = tensors[outputs[0] as number] as TensorInfo
  if (inputs.length !== 1 || outputs.length !== 1 || input.shape.length !== 2 || input.scale !== 1 || output.shape.length !== 3) {
    throw new InvalidModelError('Not a language model: expected token ids [1, C] (scale 1) in and logits [1, C, V] out', {
      inputs: inputs.map((id) => tensors[id]?.shape),
      outputs: outputs.map((id) => tensors[id]?.shape),
    })
  }
  return {
    model,
    context: input.shape[1] as number,
    vocab: output.shape[2] as number,
    logitScale: output.scale,
    ...(stepAxes ? { stepAxes } : {}),
  }
}
