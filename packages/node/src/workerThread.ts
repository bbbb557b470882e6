import { Worker, type WorkerOptions } from 'node:worker_threads'

/**
 * Starts the worker thread whose entry is `name` beside this file. Built, that is the .js; from
 * source (tsx, vitest) it is the .ts, which a worker loads only once tsx's loader is registered in
 * it (workers do not inherit `--import`).
 */
export function startWorker(name: string, options: Pick<WorkerOptions, 'workerData'> = {}): Worker {
  const source = import.meta.url.endsWith('.ts')
  const entry = new URL(`./${name}${source ? '.ts' : '.js'}`, import.meta.url)
  return source
    ? new Worker(
        `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}) })`,
        { ...options, eval: true },
      )
    : new Worker(entry, options)
}
