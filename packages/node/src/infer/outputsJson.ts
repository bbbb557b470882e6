import type { LoadedModel, TensorInfo } from '@verity/runtime'

/**
 * The outputs as the node answers and stores them: `{ name: { shape, scale, raw, values } }`, where
 * `raw` are the integers the runtime computed and `values` = raw × scale.
 */
export function outputsJson(model: LoadedModel, outputs: readonly Int16Array[]): string {
  return JSON.stringify(
    Object.fromEntries(
      model.model.outputs.map((tensorId, i) => {
        const info = model.model.tensors[tensorId] as TensorInfo
        const raw = Array.from(outputs[i] as Int16Array)
        return [info.name, { shape: info.shape, scale: info.scale, raw, values: raw.map((v) => v * info.scale) }]
      }),
    ),
  )
}
