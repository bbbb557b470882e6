import { spawn } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const packagesDir = join(root, 'packages')

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourcesUnder(path)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts') ? [path] : []
  })
}

const mtime = (path: string) => {
  try {
    return statSync(path).mtimeMs
  } catch {
    return undefined
  }
}

/**
 * The first source file newer than its package's last build (`dist/.tsbuildinfo`, which `tsc -b`
 * writes or touches whenever it finds the package's outputs current), or undefined when every
 * package's build is current, as after `npm test`'s `tsc -b`.
 */
export function staleBuild(): string | undefined {
  for (const pkg of readdirSync(packagesDir)) {
    const src = join(packagesDir, pkg, 'src')
    if (mtime(src) === undefined) continue
    const built = mtime(join(packagesDir, pkg, 'dist', '.tsbuildinfo')) ?? -1
    const newer = sourcesUnder(src).find((file) => (mtime(file) as number) > built)
    if (newer) return relative(root, newer)
  }
  return undefined
}

let built: boolean | undefined

/**
 * The command line of a `verity` process running the current sources: the built CLI
 * (packages/cli/bin/verity.js) when every package's build is at least as new as its sources, which
 * starts in about a third of the time; otherwise the sources through tsx. Either way the process
 * runs exactly what the working tree holds.
 *
 * @example
 * const [cmd, argv] = verityCommand('deploy', '--rpc', url)
 * spawn(cmd, argv, { cwd: repoRoot })
 */
export function verityCommand(...args: string[]): [string, string[]] {
  built ??= staleBuild() === undefined
  return built
    ? [process.execPath, [join(root, 'packages', 'cli', 'bin', 'verity.js'), ...args]]
    : [process.execPath, ['--conditions=source', '--import', 'tsx', join(root, 'packages', 'cli', 'src', 'cliEntry.ts'), ...args]]
}

/**
 * Runs one `verity` command to its end without blocking this process (side by side with others, or
 * while this process answers it), in the repository's root.
 */
export function runVerity(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [command, argv] = verityCommand(...args)
  return new Promise((resolve) => {
    const child = spawn(command, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString()
    })
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString()
    })
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}
