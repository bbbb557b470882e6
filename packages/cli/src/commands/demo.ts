import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { identifyModel } from '@verity/contracts'
import { importOnnx, loadMnist, mnistImage, openValue, run, seededRandom, verifyWitness } from '@verity/runtime'
import { readBytes } from '../samples.js'

export type DemoOptions = {
  /** The mnist-8 ONNX model. */
  onnx: string
  /** The MNIST test set directory. */
  mnist: string
  requests: number
  out: string
}

/**
 * `verity demo` (what `npm start` runs today): import mnist-8 into the integer semantics, answer a
 * workload of real MNIST test digits with traced runs, and check single values of the traces.
 */
export function demo(options: DemoOptions): void {
  const onnxPath = options.onnx
  const set = loadMnist(options.mnist)
  const calibration = Array.from({ length: 500 }, (_, i) => ({
    Input3: mnistImage(set, set.count - 1 - i),
  }))
  let t = performance.now()
  const { artifact, model, report } = importOnnx(readBytes(onnxPath, 'ONNX model'), { calibration, fileName: 'mnist-8.onnx' })
  mkdirSync(options.out, { recursive: true })
  const artifactPath = join(options.out, 'mnist-8.vrty')
  writeFileSync(artifactPath, artifact)
  console.log(`imported mnist-8 in ${(performance.now() - t).toFixed(0)} ms → ${artifactPath}`)
  console.log(`  model id      ${identifyModel(model).modelId}`)
  console.log(`  weights root  ${report.weightsRoot}`)
  console.log(
    `  ops           ${Object.entries(report.ops)
      .map(([k, v]) => `${k}×${v}`)
      .join(', ')}\n`,
  )

  const rand = seededRandom(7)
  let correct = 0
  let checked = 0
  const latencies: number[] = []
  console.log(' req  image  label  answer  output hash          trace root           checked value')
  for (let r = 0; r < options.requests; r++) {
    const i = Math.floor(rand() * set.count)
    t = performance.now()
    const result = run(model, { Input3: mnistImage(set, i) }, { trace: true })
    latencies.push(performance.now() - t)
    const logits = result.outputs[0]?.values as Float64Array
    let answer = 0
    for (let k = 1; k < logits.length; k++) if ((logits[k] as number) > (logits[answer] as number)) answer = k
    if (answer === set.labels[i]) correct++
    // Open one random value of one random op and recompute it alone from its proofs.
    const trace = result.trace as NonNullable<typeof result.trace>
    const op = Math.floor(rand() * model.nodes.length)
    const size = trace.tensors.get(model.nodes[op]?.output as number)?.length as number
    const witness = openValue(model, trace, op, Math.floor(rand() * size))
    const check = verifyWitness(witness, { model, traceRoot: trace.root })
    if (check.ok) checked++
    console.log(
      `${String(r + 1).padStart(4)}  ${String(i).padStart(5)}  ${String(set.labels[i]).padStart(5)}  ${String(answer).padStart(6)}  ${result.outputHash.slice(0, 18)}…  ${trace.root.slice(0, 18)}…  ${witness.node.op}#${op}[${witness.index}]=${witness.value} ${check.ok ? 'ok' : `FAILED: ${check.reason}`}`,
    )
  }
  latencies.sort((a, b) => a - b)
  const pct = (p: number) => (latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] as number).toFixed(2)
  console.log(`\n${options.requests} requests: ${correct} correct (${((100 * correct) / options.requests).toFixed(1)} %)`)
  console.log(`traced run latency: p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms (includes hashing every activation)`)
  console.log(`single-value witnesses verified: ${checked}/${options.requests}`)
  if (checked !== options.requests) process.exitCode = 1
}
