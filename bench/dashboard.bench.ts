/**
 * The dashboard with 100,000 inferences indexed: an index filled with 100,000 receipts shaped like
 * a devnet's (3,125 batches of 32, two verifiers each re-executing and attesting 10 receipts of
 * each batch, 0.5 % disputed and overturned, the rest final; chain times 1 s apart), served by the
 * real API and page. Measures each figure computed from the index (what one refresh costs when the
 * index changed), each API call as a page polls it (figures over the whole index are shared by every
 * viewer and recomputed at most every 1 s or 5 s), and, in headless Chromium, the page's first
 * render and the main thread's long tasks over 10 s of live refreshes.
 *
 *   npm run bench:dashboard
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dashboardApi, IndexStore, renderMetrics, summaryOf, trustGapOf, verificationOf } from '@verity/dashboard'
import { serveApp } from '@verity/node'
import { seededRandom } from '@verity/runtime'
import { launchChromium } from '../packages/cli/test/launchChromium.js'

const N = Number(process.env.VERITY_BENCH_INFERENCES ?? 100_000)
const store = new IndexStore(join(mkdtempSync(join(tmpdir(), 'verity-dash-')), 'index.sqlite'))
const rand = seededRandom(5)
const hex = (n: number, width = 64) => `0x${n.toString(16).padStart(width, '0')}`
const t0 = Date.UTC(2026, 10, 22, 12)
const nodes = [hex(1, 40), hex(2, 40)]
const verifiers = [hex(3, 40), hex(4, 40)]
const fillStart = performance.now()
store.transaction(() => {
  for (const [i, a] of [...nodes, ...verifiers].entries()) {
    store.run(
      'INSERT INTO operators (address, role, endpoint, staked, registered_at_ms) VALUES (?, ?, ?, ?, ?)',
      a,
      i < 2 ? 1 : 2,
      'http://x',
      String(2000n * 10n ** 18n),
      t0,
    )
  }
  for (let b = 0; b < N / 32; b++) {
    const committed = t0 + b * 32_000
    store.run(
      'INSERT INTO batches (batch_id, node, root, count, fee, data_uri, committed_at_ms, finalized_at_ms, gas, fetched) VALUES (?, ?, ?, 32, ?, ?, ?, ?, ?, 1)',
      b + 1,
      nodes[b % 2],
      hex(b),
      String(32n * 10n ** 15n),
      'http://127.0.0.1:1/v1/batches/x',
      committed,
      committed + 31_000,
      250_000,
    )
    for (const v of verifiers) {
      store.run(
        'INSERT INTO attestations (batch_id, verifier, receipts, bitmap, at_ms, gas) VALUES (?, ?, 10, ?, ?, 60000)',
        b + 1,
        v,
        '["1023"]',
        committed + 1000,
      )
    }
    for (let i = 0; i < 32; i++) {
      const executed = committed - 1000 + Math.floor(rand() * 1000)
      const overturned = rand() < 0.005
      store.run(
        `INSERT INTO inferences (id, batch_id, idx, node, client, model_id, fee, mode, receipt_json, executed_at_ms, compute_ms, committed_at_ms, attested_at_ms, attestations, disputed_at_ms, overturned_at_ms, final_at_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, 1, '{}', ?, ?, ?, ?, ?, ?, ?, ?)`,
        hex(b * 32 + i),
        b + 1,
        i,
        nodes[b % 2],
        hex(9, 40),
        hex(7),
        String(10n ** 15n),
        executed,
        0.4 + rand() * 0.4,
        committed,
        i < 10 ? committed + 1000 : null,
        i < 10 ? 2 : 0,
        overturned ? committed + 2000 : null,
        overturned ? committed + 12_000 : null,
        overturned ? null : committed + 31_000,
      )
      if (i < 10) {
        for (const [k, v] of verifiers.entries()) {
          store.run(
            'INSERT INTO checks (verifier, seq, batch_id, idx, inference_id, mode, compute_ms, matched, at_ms) VALUES (?, ?, ?, ?, ?, 1, ?, 1, ?)',
            v,
            b * 10 + i + 1,
            b + 1,
            i,
            hex(b * 32 + i),
            0.5 + rand() * 0.5 + k * 0.1,
            committed + 800,
          )
        }
      }
    }
  }
})
const fillMs = performance.now() - fillStart
const server = await serveApp(dashboardApi(store))

console.log(`dashboard with ${N.toLocaleString('en-US')} inferences indexed (${server.url})`)
console.log(
  `  indexed: ${N.toLocaleString('en-US')} receipts with their batches, attestations and checks in ${(fillMs / 1000).toFixed(1)} s, aggregates kept by trigger`,
)
const computations: [string, () => unknown][] = [
  ['summary', () => summaryOf(store)],
  ['trust gap (40 intervals)', () => trustGapOf(store, 40)],
  ['verification (40 intervals)', () => verificationOf(store, 40)],
  ['Prometheus /metrics', () => renderMetrics(store)],
]
for (const [name, compute] of computations) {
  const times: number[] = []
  for (let i = 0; i < 7; i++) {
    const start = performance.now()
    compute()
    times.push(performance.now() - start)
  }
  times.sort((a, b) => a - b)
  console.log(`  computed: ${name.padEnd(28)} p50 ${times[3]!.toFixed(1).padStart(7)} ms   max ${times[6]!.toFixed(1).padStart(7)} ms`)
}
const paths = [
  '/api/summary',
  '/api/inferences?limit=30',
  '/api/trust-gap?buckets=40',
  '/api/verification?buckets=40',
  '/api/operators',
  '/api/disputes',
  `/api/inferences/${hex(12_345)}`,
  '/metrics',
]
for (const path of paths) {
  const times: number[] = []
  for (let i = 0; i < 15; i++) {
    const start = performance.now()
    const response = await fetch(`${server.url}${path}`)
    await response.arrayBuffer()
    times.push(performance.now() - start)
  }
  times.sort((a, b) => a - b)
  console.log(`  served:   ${path.padEnd(28)} p50 ${times[7]!.toFixed(1).padStart(7)} ms   max ${times[14]!.toFixed(1).padStart(7)} ms`)
}

const browser = await launchChromium()
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, locale: 'en-US' })
await page.addInitScript(() => {
  // Runs in the page (DOM types are not in this Node project).
  const w = globalThis as unknown as { longTasks: number[] }
  w.longTasks = []
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) w.longTasks.push(entry.duration)
  }).observe({ type: 'longtask' as never, buffered: true })
})
const start = performance.now()
await page.goto(server.url)
const shown = (n: number) =>
  (globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } }).document.querySelector(
    '[data-testid="inferences"] .value',
  )?.textContent === String(n)
await page.waitForFunction(shown, N, {
  timeout: 60_000,
})
console.log(`  page: first render with every figure ${(performance.now() - start).toFixed(0)} ms`)
await page.waitForTimeout(10_000)
const longTasks = await page.evaluate(() => (globalThis as unknown as { longTasks: number[] }).longTasks)
console.log(
  `  page: over 10 s of live refreshes, ${longTasks.length} main-thread tasks over 50 ms, the longest ${Math.max(0, ...longTasks).toFixed(0)} ms`,
)
await browser.close()
await server.close()
store.close()
