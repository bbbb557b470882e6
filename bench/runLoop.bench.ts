/**
 * `runQuantized` alone, in a loop, for mnist-8: runs/s, CPU per run and the process's external
 * memory every 3 s. It shows whether the runtime itself slows down as it runs (docs/benchmarks.md,
 * "Third pass": the weight arena that grew by the model's weights on every run).
 *
 *   npx tsx --conditions=source bench/runLoop.bench.ts [seconds, default 30]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadMnist, loadModel, mnistImage, quantizeInputs, runQuantized } from '@verity/runtime'
import { demoData } from '../packages/cli/src/demoData.js'
import { importMnist } from '../packages/cli/src/devnet/startDevnet.js'

const seconds = Number(process.argv[2] ?? 30)
const dir = mkdtempSync(join(tmpdir(), 'verity-runloop-'))
const mnist = loadMnist(demoData.mnist)
const path = join(dir, 'mnist-8.vrty')
importMnist(demoData.onnx, mnist, path)
const model = loadModel(new Uint8Array(readFileSync(path)))
rmSync(dir, { recursive: true, force: true })
const inputs = Array.from({ length: 100 }, (_, i) => quantizeInputs(model, { Input3: mnistImage(mnist, i) }))

let runs = 0
const started = performance.now()
let last = started
let lastRuns = 0
let cpu = process.cpuUsage()
while (performance.now() - started < seconds * 1000) {
  runQuantized(model, inputs[runs % 100]!)
  runs++
  const now = performance.now()
  if (now - last > 3000) {
    const used = process.cpuUsage(cpu)
    cpu = process.cpuUsage()
    const n = runs - lastRuns
    console.log(
      `${((now - started) / 1000).toFixed(0)} s: ${(n / ((now - last) / 1000)).toFixed(0)} runs/s, CPU ${((used.user + used.system) / 1000 / n).toFixed(3)} ms/run, external memory ${(process.memoryUsage().external / 1e6).toFixed(0)} MB`,
    )
    last = now
    lastRuns = n + lastRuns
  }
}
