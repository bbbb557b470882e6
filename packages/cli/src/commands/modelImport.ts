import { writeFileSync } from 'node:fs'
import { basename } from 'node:path'
import { identifyModel } from '@verity/contracts'
import type { QuantizationReport } from '@verity/runtime'
import { importOnnx } from '@verity/runtime'
import { counts, sig, table } from '../format.js'
import { calibrationSamples, readBytes } from '../samples.js'

export type ModelImportOptions = { calibrate: string; out: string; count: number; json: boolean; name?: string }

/** `verity model import`: quantize an ONNX model and write its artifact. */
export function modelImport(file: string, options: ModelImportOptions): QuantizationReport & { modelId: `0x${string}` } {
  const onnx = readBytes(file, 'ONNX model')
  const calibration = calibrationSamples(options.calibrate, onnx, options.count)
  const imported = importOnnx(onnx, { calibration, fileName: basename(file), ...(options.name ? { name: options.name } : {}) })
  writeFileSync(options.out, imported.artifact)
  const identity = identifyModel(imported.model)
  const report = { modelId: identity.modelId, ...imported.report, graphRoot: identity.graphRoot, specHash: identity.specHash }
  if (options.json) {
    console.log(JSON.stringify({ ...report, artifact: options.out }, null, 2))
    return report
  }
  console.log(`model id      ${report.modelId}`)
  console.log(`weights root  ${report.weightsRoot}`)
  console.log(`artifact      ${options.out} (${report.artifactBytes} bytes)`)
  console.log(`source        ${report.source.file} sha256 ${report.source.sha256.slice(0, 16)}… opset ${report.source.opset}`)
  console.log(`onnx ops      ${counts(report.onnxOps)}`)
  console.log(`integer ops   ${counts(report.ops)}`)
  console.log(
    `weights       ${report.weights.total} values (int8 ${report.weights.int8}, int16 ${report.weights.int16}, int32 ${report.weights.int32})`,
  )
  console.log(`calibration   ${report.calibrationSamples} samples from ${options.calibrate}`)
  for (const io of [...report.inputs.map((x) => ['input', x] as const), ...report.outputs.map((x) => ['output', x] as const)]) {
    console.log(`${io[0].padEnd(14)}${io[1].name} [${io[1].shape.join(', ')}] scale ${sig(io[1].scale, 6)}`)
  }
  console.log('\nquantization report (integer model vs float64 graph on calibration samples)')
  console.log(
    table(
      ['layer', 'op', 'scale', 'range', 'max |err|', 'mean |err|', 'err/range', 'saturated'],
      report.layers.map((l) => [
        l.name,
        l.op,
        sig(l.scale),
        sig(l.range),
        sig(l.maxAbsError),
        sig(l.meanAbsError),
        `${sig((100 * l.maxAbsError) / (l.range || 1), 3)}%`,
        `${sig(100 * l.saturated, 3)}%`,
      ]),
    ),
  )
  return report
}
