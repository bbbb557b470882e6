/**
 * Determinism across the browser build: stories260K generates in headless Chromium (the runtime's
 * platform-neutral core bundled for the web, as the dashboard bundles it; SHA-256 from @noble/hashes
 * instead of Node's, no Node built-ins) exactly what it generates in Node and in a worker thread —
 * the same tokens, the same per-step logit roots and generation root, and the same trace root of a
 * full traced run.
 */

import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { build } from 'vite'
import { describe, expect, it } from 'vitest'
import { launchChromium } from '../../cli/test/launchChromium.js'
import type { GenerateOptions, Generation } from '../src/index.js'
import { generate, languageModelFromArtifact, runQuantized } from '../src/index.js'
import { expected, importStories, languageModelsPresent, modelsDir, storiesTokenizer } from './languageModelFixtures.js'

if (!languageModelsPresent) console.log(`skipped the browser determinism test: ${modelsDir} has no language models`)

type Outcome = Generation & { traceRoot: string }

/** The runtime core as one IIFE script defining `globalThis.VerityRuntime`, built with Vite. */
async function bundleRuntimeCore(): Promise<string> {
  const result = await build({
    configFile: false,
    logLevel: 'warn',
    build: {
      write: false,
      minify: false,
      lib: { entry: fileURLToPath(new URL('../src/core.ts', import.meta.url)), name: 'VerityRuntime', formats: ['iife'] },
    },
  })
  const outputs = (Array.isArray(result) ? result : [result]) as { output: { type: string; code?: string }[] }[]
  const chunk = outputs.flatMap((o) => o.output).find((o) => o.type === 'chunk')
  if (!chunk?.code) throw new Error('vite produced no script')
  return chunk.code
}

describe.skipIf(!languageModelsPresent)('stories260K in the browser build', () => {
  it('Chromium, Node and a worker thread generate the same tokens, logit roots, generation root and trace root', async () => {
    const { lm, artifact } = importStories(32)
    const prompt = storiesTokenizer().encode('Once upon a time')
    const options: GenerateOptions = { prompt, maxTokens: 8, temperature: 0.8, seed: 7 }
    const traced = Int16Array.from(expected().stories260K.greedy_ids.slice(0, 32))

    // Node, from the artifact bytes (as the page gets them).
    const fromBytes = languageModelFromArtifact(artifact)
    const inNode: Outcome = {
      ...generate(fromBytes, options),
      traceRoot: runQuantized(fromBytes.model, [traced], { trace: true }).trace!.root,
    }
    expect(inNode.tokens).toHaveLength(8)
    expect(inNode.tokens).toEqual(generate(lm, options).tokens)

    // A worker thread.
    const path = join(mkdtempSync(join(tmpdir(), 'verity-lm-browser-')), 'stories260K.vrty')
    writeFileSync(path, artifact)
    const inWorker = await new Promise<Generation>((resolve, reject) => {
      const worker = new Worker(new URL('./generateOnceWorker.mjs', import.meta.url), { workerData: { artifact: path, options } })
      worker.once('message', (m) => {
        resolve(m)
        void worker.terminate()
      })
      worker.once('error', reject)
    })
    expect({ tokens: inWorker.tokens, steps: inWorker.steps, root: inWorker.root }).toEqual({
      tokens: inNode.tokens,
      steps: inNode.steps,
      root: inNode.root,
    })

    // Chromium, with the bundled core.
    const script = await bundleRuntimeCore()
    const browser = await launchChromium()
    try {
      const page = await browser.newPage({ locale: 'en-US' })
      await page.addScriptTag({ content: script })
      const inBrowser = await page.evaluate(
        ({ b64, options, traced }) => {
          type Runtime = typeof import('../src/core.js')
          const R = (globalThis as unknown as { VerityRuntime: Runtime }).VerityRuntime
          const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))
          const lm = R.languageModelFromArtifact(bytes)
          const generation = R.generate(lm, options)
          const run = R.runQuantized(lm.model, [Int16Array.from(traced)], { trace: true })
          return {
            ...generation,
            traceRoot: run.trace!.root,
            native: typeof (globalThis as { process?: unknown }).process !== 'undefined',
          }
        },
        { b64: Buffer.from(artifact).toString('base64'), options, traced: Array.from(traced) },
      )
      expect(inBrowser.native).toBe(false)
      const { native: _, ...outcome } = inBrowser
      expect(outcome).toEqual(inNode)
    } finally {
      await browser.close()
    }
  })
})
