// Assembles packages/runtime/src/kernels/*.wat and the texts sha256x4Wat.ts and keccakWat.ts make into
// generated TypeScript modules holding the WebAssembly bytes. Run: npm run build:wasm   (--check: fail if a generated module is stale)
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import wabtInit from 'wabt'
import { keccakWat } from '../packages/protocol/src/keccakWat.js'
import { sha256x4Wat } from '../packages/runtime/src/kernels/sha256x4Wat.js'

const dir = join(import.meta.dirname, '..', 'packages', 'runtime', 'src', 'kernels')
const check = process.argv.includes('--check')

/** The generated module for one .wat source (its path, and its text when a generator makes it). */
export async function generate(watPath: string, wat = readFileSync(watPath, 'utf8')): Promise<string> {
  const wabt = await wabtInit()
  let mod: ReturnType<typeof wabt.parseWat>
  try {
    mod = wabt.parseWat(watPath, wat, { simd: true })
  } catch (e) {
    throw new Error(
      String((e as Error).message)
        .split('\n')
        .filter((l) => l.includes('error'))
        .join('\n'),
    )
  }
  const { buffer } = mod.toBinary({})
  mod.destroy()
  const base64 = Buffer.from(buffer).toString('base64')
  const name = watPath.split('/').pop() as string
  return `// generated — do not edit. Source: ${name}; regenerate with \`npm run build:wasm\`.\nexport const wasmBase64 =\n  '${base64}'\n`
}

// Each module: the .wat files of the runtime's kernels, and those whose text a generator writes (SHA-256 four at a time, Keccak-256).
const protocol = join(import.meta.dirname, '..', 'packages', 'protocol', 'src')
const sources = [
  ...readdirSync(dir)
    .filter((f) => f.endsWith('.wat'))
    .map((f) => ({ out: join(dir, f.replace(/\.wat$/, 'Wasm.generated.ts')), make: () => generate(join(dir, f)) })),
  { out: join(dir, 'sha256x4Wasm.generated.ts'), make: () => generate(join(dir, 'sha256x4Wat.ts'), sha256x4Wat()) },
  { out: join(protocol, 'keccakWasm.generated.ts'), make: () => generate(join(protocol, 'keccakWat.ts'), keccakWat()) },
]
let stale = 0
for (const { out, make } of sources) {
  const text = await make()
  let current = ''
  try {
    current = readFileSync(out, 'utf8')
  } catch {}
  if (current === text) continue
  if (check) {
    console.error(`${out} is stale; run npm run build:wasm`)
    stale++
  } else {
    writeFileSync(out, text)
    console.log(`wrote ${out}`)
  }
}
process.exitCode = stale > 0 ? 1 : 0
