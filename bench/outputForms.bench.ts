/**
 * What writing and reading a receipt's outputs costs in each form a node may answer them in
 * (docs/benchmarks.md, "Fourteenth pass"): `raw` as decimal integers or as base64 (`encoding`), for a
 * language model's logits (64 positions × 512 tokens, stories260K's) and for mnist-8's 10 outputs —
 * the text's size, the node's `outputsJson`, the client's `JSON.parse` and `rawFromWire`, and the
 * SDK's `outputsToWire` (raw and values arrays). Each function timed in rounds, the functions taking
 * turns (so a slower moment of the machine falls on all), µs per call, the median of 7 rounds.
 *
 *   npx tsx --conditions=source bench/outputForms.bench.ts
 */
import type { LoadedModel } from '@verity/runtime/core'
import { seededRandom } from '@verity/runtime/core'
import { outputsJson, outputsToWire, rawFromWire } from '../packages/protocol/src/wireForms.js'

const modelOf = (name: string, shape: number[], scale: number) =>
  ({ model: { outputs: [0], tensors: [{ name, shape, scale, dtype: 'int16' }] } }) as unknown as LoadedModel

const random = seededRandom(1)
const cases = [
  { label: 'logits 1 × 64 × 512', model: modelOf('logits', [1, 64, 512], 0.00390625), count: 64 * 512, spread: 6000 },
  { label: 'mnist-8 1 × 10', model: modelOf('Plus214_Output_0', [1, 10], 0.0123), count: 10, spread: 8000 },
]

console.log('| output | form | characters | write (node) µs | parse µs | rawFromWire µs |')
console.log('| --- | --- | ---: | ---: | ---: | ---: |')
for (const c of cases) {
  const t = Int16Array.from({ length: c.count }, () => Math.round((random() - 0.5) * c.spread))
  const calls = Math.max(20, Math.round(2_000_000 / c.count))
  const forms = (['json', 'base64'] as const).map((encoding) => {
    const text = outputsJson(c.model, [t], { values: false, encoding })
    const parsed = JSON.parse(text) as Record<string, { raw: unknown }>
    return {
      encoding,
      text,
      fns: {
        write: () => outputsJson(c.model, [t], { values: false, encoding }),
        parse: () => JSON.parse(text),
        read: () => rawFromWire(parsed[Object.keys(parsed)[0]!]!.raw),
      } as Record<string, () => unknown>,
    }
  })
  const timings = timeTogether(
    Object.fromEntries([
      ...forms.flatMap((f) => Object.entries(f.fns).map(([k, fn]) => [`${f.encoding} ${k}`, fn] as const)),
      ['outputsToWire', () => outputsToWire(c.model, [t])],
    ]),
    calls,
  )
  for (const f of forms)
    console.log(
      `| ${c.label} | ${f.encoding} | ${f.text.length.toLocaleString('en-US')} | ${us(timings[`${f.encoding} write`]!)} | ${us(timings[`${f.encoding} parse`]!)} | ${us(timings[`${f.encoding} read`]!)} |`,
    )
  console.log(`| ${c.label} | outputsToWire (raw and values arrays) | | | | ${us(timings.outputsToWire!)} |`)
}

function us(v: number): string {
  return v >= 100 ? v.toFixed(0) : v.toFixed(2)
}

/** µs per call of each function: rounds of `calls` calls, the functions taking turns; the median of 7 rounds after one to warm up. */
function timeTogether(fns: Record<string, () => unknown>, calls: number): Record<string, number> {
  const rounds: Record<string, number[]> = Object.fromEntries(Object.keys(fns).map((name) => [name, []]))
  for (let round = 0; round < 8; round++)
    for (const [name, fn] of Object.entries(fns)) {
      const started = performance.now()
      for (let i = 0; i < calls; i++) fn()
      if (round > 0) rounds[name]!.push(((performance.now() - started) * 1000) / calls)
    }
  return Object.fromEntries(Object.entries(rounds).map(([name, r]) => [name, r.sort((a, b) => a - b)[3]!]))
}
