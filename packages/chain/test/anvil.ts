import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

const require = createRequire(import.meta.url)

export type Anvil = { rpcUrl: string; process: ChildProcess; stop(): Promise<void> }

/** Path of the real anvil binary shipped in @foundry-rs/anvil's platform package. */
export function anvilBinary(): string {
  const platforms: Record<string, string> = {
    'linux-x64': 'linux-amd64',
    'linux-arm64': 'linux-arm64',
    'darwin-x64': 'darwin-amd64',
    'darwin-arm64': 'darwin-arm64',
  }
  const platform = platforms[`${process.platform}-${process.arch}`]
  if (!platform) throw new Error(`no anvil binary for ${process.platform}-${process.arch}`)
  return join(dirname(require.resolve(`@foundry-rs/anvil-${platform}/package.json`)), 'bin', 'anvil')
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/**
 * Starts anvil (default mnemonic, chain id 31337) on a free loopback port and waits until it listens.
 * Its persisted states go to a directory of its own, removed when it exits: by default anvil writes
 * them under ~/.foundry/anvil/tmp and leaves them behind when it is killed (72 GB after a day of
 * test runs on this machine, which then filled its disk).
 */
export async function startAnvil(args: string[] = []): Promise<Anvil> {
  const port = await freePort()
  const cache = mkdtempSync(join(tmpdir(), 'verity-anvil-'))
  const child = spawn(anvilBinary(), ['--host', '127.0.0.1', '--port', String(port), '--cache-path', cache, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.once('exit', () => rmSync(cache, { recursive: true, force: true }))
  // Both pipes are drained for the process's whole life (keeping the last 16 kB): anvil logs every
  // call, and a full pipe would block it mid-request.
  let output = ''
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-16_384)
  }
  child.stderr!.on('data', keep)
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`anvil did not start:\n${output}`)), 30_000)
    child.stdout!.on('data', (chunk: Buffer) => {
      keep(chunk)
      if (output.includes('Listening on')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => reject(new Error(`anvil exited with ${code}:\n${output}`)))
  })
  return {
    rpcUrl: `http://127.0.0.1:${port}`,
    process: child,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}
