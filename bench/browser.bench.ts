/**
 * Re-executing an inference in the browser: a devnet answers 30 real MNIST digits; for each, the
 * dashboard page (headless Chromium) fetches the model artifact and the input, checks their hashes
 * and runs mnist-8 with the runtime bundled into the page. Its run time (as the page measures it) is
 * set against the same re-execution in Node (the SDK's `reexecute`, same model, same input) and the
 * float model in onnxruntime-node on the same digit.
 *
 *   npm run bench:browser
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { receiptFromWire } from '@verity/contracts'
import { mnistImage } from '@verity/runtime'
import { infer, reexecute } from '@verity/sdk'
import * as ort from 'onnxruntime-node'
import { startDevnet } from '../packages/cli/src/devnet/startDevnet.js'
import { launchChromium } from '../packages/cli/test/launchChromium.js'

const N = 30
const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const net = await startDevnet({
  dir: join(mkdtempSync(join(tmpdir(), 'verity-bench-browser-')), 'net'),
  nodes: 1,
  verifiers: 1,
  sampleRate: 0.1,
})
const ids: string[] = []
for (let i = 0; i < N; i++) {
  ids.push(
    (await infer(net.client, { modelId: net.modelId, inputs: { Input3: mnistImage(net.mnist, i) }, node: net.nodes[0]!.url })).inferenceId,
  )
}
await net.indexer.caughtUp()

const browser = await launchChromium()
const page = await browser.newPage({ locale: 'en-US' })
await page.goto(net.dashboardUrl)
const inBrowser: number[] = []
for (const id of ids) {
  await page.goto(`${net.dashboardUrl}/#${id}`)
  await page.waitForSelector('#reexecute')
  await page.click('#reexecute')
  // Runs in the page (DOM types are not in this Node project).
  await page.waitForFunction(() =>
    /^(MATCH|MISMATCH|could not)/.test(
      (globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } }).document.querySelector(
        '#reexecute-result',
      )?.textContent ?? '',
    ),
  )
  const text = (await page.locator('#reexecute-result').textContent()) ?? ''
  if (!text.startsWith('MATCH')) throw new Error(`in-browser re-execution of ${id}: ${text}`)
  inBrowser.push(Number(/in ([\d.]+) ms/.exec(text)![1]))
}

// The same re-executions in Node, from the same public data.
const model = await net.client.model(net.modelId)
const inNode: number[] = []
for (const id of ids) {
  const stored = (await (await fetch(`${net.nodes[0]!.url}/v1/inferences/${id}`)).json()) as { receipt: unknown }
  const receipt = receiptFromWire(stored.receipt)
  const input = (await (await fetch(`${net.nodes[0]!.url}/v1/data/${receipt.inputHash}`)).json()) as { inputs: unknown }
  inNode.push(reexecute(model, receipt, input.inputs).ms)
}

const session = await ort.InferenceSession.create(join(root, 'data', 'models', 'mnist-8.onnx'))
const float: number[] = []
for (let i = 0; i < N; i++) {
  const started = performance.now()
  const image = mnistImage(net.mnist, i)
  await session.run({ Input3: new ort.Tensor('float32', Float32Array.from(image.data), image.shape) })
  float.push(performance.now() - started)
}

const p = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)]!
const row = (name: string, xs: number[]) =>
  console.log(`  ${name.padEnd(44)} p50 ${p(xs, 0.5).toFixed(2).padStart(7)} ms   p90 ${p(xs, 0.9).toFixed(2).padStart(7)} ms`)
console.log(`re-executing mnist-8 (${N} digits; the first run of each includes warm-up)`)
row('in Chromium (runtime bundled into the page)', inBrowser)
row('in Node (the same reexecute)', inNode)
row('onnxruntime-node, float model', float)
console.log(`  browser / Node: ${(p(inBrowser, 0.5) / p(inNode, 0.5)).toFixed(2)}× at p50`)
await browser.close()
await net.stop()
