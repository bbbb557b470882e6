// Runs an artifact on one MNIST image with a trace and prints the output bytes and trace root as
// JSON. Used by the determinism test from a child process and from a worker thread.
import { readFileSync } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'
import { loadMnist, loadModel, mnistImage, run, tensorBytes } from '../src/index.js'

export function runOnce(
  artifactPath: string,
  mnistDir: string,
  index: number,
): { output: string; traceRoot: string; artifactHash: string } {
  const model = loadModel(readFileSync(artifactPath))
  const result = run(model, { Input3: mnistImage(loadMnist(mnistDir), index) }, { trace: true })
  return {
    output: Buffer.from(tensorBytes(result.outputs[0]?.raw as Int16Array)).toString('hex'),
    traceRoot: result.trace?.root as string,
    artifactHash: model.artifactHash,
  }
}

if (parentPort && workerData) {
  parentPort.postMessage(runOnce(workerData.artifact, workerData.mnistDir, workerData.index))
} else if (process.argv[2]) {
  console.log(JSON.stringify(runOnce(process.argv[2], process.argv[3] as string, Number(process.argv[4]))))
}
