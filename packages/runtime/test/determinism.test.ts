import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { describe, expect, it } from 'vitest'
import { importOnnx, loadMnist, mnistImage, sha256, toHex } from '../src/index.js'
import { importMnist, mnistDir, mnistModelPath } from './fixtures.js'
import { runOnce } from './runOnce.js'

const runner = new URL('./runOnce.ts', import.meta.url)
const workerEntry = new URL('./runOnceWorker.mjs', import.meta.url)

describe('determinism', () => {
  const { artifact, model } = importMnist()
  const dir = mkdtempSync(join(tmpdir(), 'verity-det-'))
  const artifactPath = join(dir, 'mnist-8.vrty')
  writeFileSync(artifactPath, artifact)

  it('importing the same ONNX file twice gives identical artifact bytes and model id', () => {
    const set = loadMnist(mnistDir)
    const calibration = Array.from({ length: 500 }, (_, i) => ({ Input3: mnistImage(set, set.count - 1 - i) }))
    const again = importOnnx(readFileSync(mnistModelPath), { calibration, fileName: 'mnist-8.onnx' })
    expect(Buffer.from(again.artifact).equals(Buffer.from(artifact))).toBe(true)
    expect(again.model.artifactHash).toBe(model.artifactHash)
    expect(model.artifactHash).toBe(toHex(sha256(artifact)))
  })

  const indices = [0, 1, 4242, 9999]
  const local = new Map(indices.map((i) => [i, runOnce(artifactPath, mnistDir, i)]))

  it('gives identical output bytes and trace roots in separate processes', () => {
    for (const i of indices) {
      const child = spawnSync(process.execPath, ['--import', 'tsx', runner.pathname, artifactPath, mnistDir, String(i)], {
        encoding: 'utf8',
      })
      expect(child.status, child.stderr).toBe(0)
      expect(JSON.parse(child.stdout)).toEqual(local.get(i))
    }
  })

  it('gives identical output bytes and trace roots in worker threads', async () => {
    const results = await Promise.all(
      indices.map(
        (i) =>
          new Promise((resolve, reject) => {
            const worker = new Worker(workerEntry, { workerData: { artifact: artifactPath, mnistDir, index: i } })
            worker.once('message', (m) => {
              resolve(m)
              void worker.terminate()
            })
            worker.once('error', reject)
          }),
      ),
    )
    expect(results).toEqual(indices.map((i) => local.get(i)))
  })

  it('different inputs give different trace roots', () => {
    const roots = new Set([...local.values()].map((r) => r.traceRoot))
    expect(roots.size).toBe(indices.length)
  })
})
