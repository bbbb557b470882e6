/**
 * Two inference nodes under the same load, taking turns (docs/benchmarks.md, "Comparing two builds"):
 * node A from this checkout and node B from another checkout (`--b-dir`) or with other process flags
 * (`--b-node-flags`), each in its own process with its own embedded chain and store, each loaded by
 * its own load client (`bench/load.bench.ts`'s roles). Rounds of `--seconds` each, A then B, then B
 * then A, and so on: a change in the machine's speed — on this project's shared 2-core machine the
 * references move ±30 % between minutes — falls on both sides of a round alike, where separate runs
 * of `bench:load` minutes apart cannot tell a 5 % change from the noise. Prints each round's
 * receipts/s, node CPU per receipt and p50 / p99 latency for A and B, and the ratios B / A: median,
 * range, and in how many rounds B was ahead.
 *
 *   npm run bench:compare -- [--b-dir ../other-checkout] [--b-node-flags "--max-semi-space-size=64"]
 *     [--a-node-flags "..."] [--a-prefill N] [--b-prefill 1000000] (receipts stored before the run)
 *     [--a-node-args "..."] [--b-node-args "--finalize 0 --batch 1024"] (the node role's own flags, bench/load.bench.ts)
 *     [--rounds 10] [--seconds 6] [--concurrency 32] [--workers N] (both sides; default the node's own) [--model stories260K] [--tokens 64] (both sides' model)
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { modelArgs, nodeProcessFlags, nodeRoleArgs } from './compareArgs.js'

const flag = (name: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : undefined
}
const here = resolve(fileURLToPath(import.meta.url), '../..')
const bDir = resolve(flag('b-dir') ?? here)
const rounds = Number(flag('rounds') ?? 10)
const seconds = Number(flag('seconds') ?? 6)
const concurrency = Number(flag('concurrency') ?? 32)
const maxRate = Number(flag('max-rate') ?? 4000)
const flagsOf = (side: 'a' | 'b') => nodeProcessFlags(process.argv, side)
const same = (name: string) => flag(`a-${name}`) === flag(`b-${name}`)
if (bDir === here && same('node-flags') && same('node-args') && same('prefill'))
  console.log('note: A and B are the same build with the same flags (an A/A run: how far apart the two sides land by chance)')

type Proc = { child: ChildProcess; info: Record<string, unknown>; lines: AsyncIterator<string> }
const start = async (cwd: string, args: string[], nodeFlags: string[] = []): Promise<Proc> => {
  const child = spawn(
    process.execPath,
    [...nodeFlags, '--import', 'tsx', '--conditions=source', join(cwd, 'bench/load.bench.ts'), ...args],
    {
      cwd,
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  )
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
  const first = await lines.next()
  if (first.done) throw new Error(`${args.join(' ')} in ${cwd} exited before it was ready`)
  return { child, info: JSON.parse(first.value), lines }
}
const cpuMs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100 // utime + stime, at 100 ticks/s
}
const quantile = (values: number[], p: number) =>
  [...values].sort((x, y) => x - y)[Math.min(values.length - 1, Math.floor(p * values.length))]!

const dirs = { a: mkdtempSync(join(tmpdir(), 'verity-compare-a-')), b: mkdtempSync(join(tmpdir(), 'verity-compare-b-')) }
const nodeArgs = (side: 'a' | 'b') => nodeRoleArgs(process.argv, side, dirs[side])
const describe = (side: 'a' | 'b') =>
  `${side === 'a' ? here : bDir} [${flagsOf(side).join(' ')}] node args [${flag(`${side}-node-args`) ?? ''}]${flag(`${side}-prefill`) ? `, ${flag(`${side}-prefill`)} receipts stored first` : ''}`
console.log(`compare: A = ${describe('a')}, B = ${describe('b')}`)
console.log(`${rounds} rounds of ${seconds} s per side at concurrency ${concurrency}, sides alternating first`)
const nodes = { a: await start(here, nodeArgs('a'), flagsOf('a')), b: await start(bDir, nodeArgs('b'), flagsOf('b')) }
// Each node's own load client (its requests are signed for that node), both from this checkout.
const clients = {
  a: await start(here, [...modelArgs(process.argv), '--role', 'client', '--setup', JSON.stringify(nodes.a.info)]),
  b: await start(here, [...modelArgs(process.argv), '--role', 'client', '--setup', JSON.stringify(nodes.b.info)]),
}
// The nodes' start-up work (first batcher ticks, the worker's model) settles.
await new Promise((r) => setTimeout(r, 3000))

type Side = 'a' | 'b'
type Result = { ok: number; failed: number; latencies: number[]; exhausted: boolean }
const phase = async (side: Side) => {
  const client = clients[side]
  const pid = nodes[side].child.pid!
  const spec = { target: 'node', url: String(nodes[side].info.url), concurrency, seconds, presign: Math.ceil(maxRate * seconds) }
  client.child.stdin!.write(`${JSON.stringify(spec)}\n`)
  await client.lines.next() // signed: the phase starts
  const before = cpuMs(pid)
  const clientBefore = cpuMs(client.child.pid!)
  const result = JSON.parse((await client.lines.next()).value) as Result
  if (result.failed > 0 || result.exhausted)
    console.log(`  ${side.toUpperCase()}: ${result.failed} failed${result.exhausted ? ', ran out of requests' : ''}`)
  return {
    rate: result.ok / seconds,
    nodeCpu: (cpuMs(pid) - before) / result.ok,
    clientCpu: (cpuMs(client.child.pid!) - clientBefore) / result.ok,
    p50: quantile(result.latencies, 0.5),
    p99: quantile(result.latencies, 0.99),
  }
}

const rows: { a: Awaited<ReturnType<typeof phase>>; b: Awaited<ReturnType<typeof phase>> }[] = []
console.log(
  '\n| round | A receipts/s | B receipts/s | B / A | A node CPU ms/receipt | B node CPU ms/receipt | B / A | A p50 / p99 ms | B p50 / p99 ms |',
)
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
for (let r = 0; r < rounds; r++) {
  const order: Side[] = r % 2 === 0 ? ['a', 'b'] : ['b', 'a']
  const got: Partial<Record<Side, Awaited<ReturnType<typeof phase>>>> = {}
  for (const side of order) got[side] = await phase(side)
  const { a, b } = got as Record<Side, Awaited<ReturnType<typeof phase>>>
  rows.push({ a, b })
  console.log(
    `| ${r + 1} | ${a.rate.toFixed(0)} | ${b.rate.toFixed(0)} | ${(b.rate / a.rate).toFixed(3)} | ${a.nodeCpu.toFixed(3)} | ${b.nodeCpu.toFixed(3)} | ${(b.nodeCpu / a.nodeCpu).toFixed(3)} | ${a.p50.toFixed(2)} / ${a.p99.toFixed(1)} | ${b.p50.toFixed(2)} / ${b.p99.toFixed(1)} |`,
  )
}
const summary = (label: string, ratios: number[], better: (x: number) => boolean) =>
  `${label}: median ${quantile(ratios, 0.5).toFixed(3)}, range ${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)}, B ahead in ${ratios.filter(better).length} of ${ratios.length} rounds`
console.log(`\nB / A, per round (each round's two sides ${seconds} s apart):`)
console.log(
  summary(
    '  receipts/s',
    rows.map(({ a, b }) => b.rate / a.rate),
    (x) => x > 1,
  ),
)
console.log(
  summary(
    '  node CPU per receipt',
    rows.map(({ a, b }) => b.nodeCpu / a.nodeCpu),
    (x) => x < 1,
  ),
)
console.log(
  summary(
    '  node + client CPU per receipt',
    rows.map(({ a, b }) => (b.nodeCpu + b.clientCpu) / (a.nodeCpu + a.clientCpu)),
    (x) => x < 1,
  ),
)
console.log(
  summary(
    '  p99 latency',
    rows.map(({ a, b }) => b.p99 / a.p99),
    (x) => x < 1,
  ),
)

for (const p of [clients.a, clients.b, nodes.a, nodes.b]) p.child.stdin!.end()
await new Promise((r) => setTimeout(r, 1000))
for (const p of [clients.a, clients.b, nodes.a, nodes.b]) if (p.child.exitCode === null) p.child.kill()
for (const dir of Object.values(dirs)) rmSync(dir, { recursive: true, force: true })
