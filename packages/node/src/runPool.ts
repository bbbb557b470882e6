import { Worker } from 'node:worker_threads'
import type { LoadedModel } from '@verity/runtime'

/** Runs models off the event loop, in worker threads (each loads a model once, from its checked artifact). */
export type RunPool = {
  run(model: LoadedModel, inputs: readonly Int16Array[]): Promise<{ outputs: Int16Array[]; computeMs: number }>
  close(): Promise<void>
}

type Pending = { resolve(value: { outputs: Int16Array[]; computeMs: number }): void; reject(error: unknown): void }

/**
 * `size` worker threads running `runQuantized` (the honest executor, the same function every
 * verifier replays); each request goes to the worker with the fewest in flight.
 *
 * @example
 * const pool = createRunPool(1)
 * const { outputs } = await pool.run(model, inputs)
 */
export function createRunPool(size: number): RunPool {
  // Built, the worker is the .js beside this file. From source (tsx, vitest) it is the .ts, which a
  // worker loads only once tsx's loader is registered in it (workers do not inherit `--import`).
  const source = import.meta.url.endsWith('.ts')
  const entry = new URL(source ? './runWorker.ts' : './runWorker.js', import.meta.url)
  const start = () =>
    source
      ? new Worker(
          `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}) })`,
          { eval: true },
        )
      : new Worker(entry)
  let nextId = 0
  const workers = Array.from({ length: size }, () => {
    const w = { worker: start(), models: new Set<string>(), pending: new Map<number, Pending>(), failed: undefined as unknown }
    w.worker.on('message', (m: { id: number; outputs?: Int16Array[]; computeMs?: number; error?: string }) => {
      const pending = w.pending.get(m.id)
      w.pending.delete(m.id)
      if (w.pending.size === 0) w.worker.unref()
      if (m.error !== undefined) pending?.reject(new Error(`model run failed in its worker: ${m.error}`))
      else pending?.resolve({ outputs: m.outputs!, computeMs: m.computeMs! })
    })
    const fail = (error: unknown) => {
      w.failed ??= error
      for (const pending of w.pending.values()) pending.reject(error)
      w.pending.clear()
    }
    w.worker.on('error', fail)
    w.worker.on('exit', (code) => fail(new Error(`model worker exited (${code})`)))
    w.worker.unref()
    return w
  })
  return {
    run(model, inputs) {
      const w = workers.reduce((best, x) => (x.pending.size < best.pending.size ? x : best))
      const id = nextId++
      const key = model.artifactHash
      const artifact = w.models.has(key) ? undefined : model.artifact
      w.models.add(key)
      return new Promise((resolve, reject) => {
        // A worker that failed or exited runs nothing more: the request fails (500) instead of waiting forever.
        if (w.failed !== undefined) return reject(w.failed)
        w.pending.set(id, { resolve, reject })
        // Referenced only while it has runs to answer: an idle pool never keeps the process alive.
        if (w.pending.size === 1) w.worker.ref()
        w.worker.postMessage({ id, key, artifact, inputs })
      })
    },
    async close() {
      await Promise.all(workers.map((w) => w.worker.terminate()))
    },
  }
}
