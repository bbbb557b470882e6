import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { settlementAbi } from '@verity/contracts'
import { mnistImage } from '@verity/runtime'
import { infer, waitForTrust } from '@verity/sdk'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Devnet, startDevnet } from '../src/devnet/startDevnet.js'
import { settledEvents } from './devnetState.js'
import { launchChromium } from './launchChromium.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

/**
 * The dashboard in real headless Chromium (from the npm package @sparticuz/chromium, driven by
 * playwright-core, with the browser locale `en-US@posix` that Intl refuses) against a devnet
 * with a deliberately faulty node: the page loads, its counts equal the chain's, a request made
 * during the test appears and reaches FINAL on screen, and the faulty node's dispute appears with
 * its outcome. VERITY_SCREENSHOT=1 also writes docs/dashboard.png.
 */
describe('dashboard in a browser', () => {
  let net: Devnet
  let browser: Browser
  let page: Page
  beforeAll(async () => {
    net = await startDevnet({
      dir: join(mkdtempSync(join(tmpdir(), 'verity-dashboard-')), 'net'),
      nodes: 2,
      verifiers: 2,
      window: 10,
      sampleRate: 1,
      batchSize: 4,
      fault: { kind: 'flip-output', rate: 0.5, seed: 2 },
      // The page's counts are of the receipts sent: no decoys (their own tests: decoys.test.ts, lazyVerifier.e2e).
      decoyRateBps: 0,
    })
    browser = await launchChromium()
    // The locale headless Chromium reports under LANG=C.UTF-8, which Intl refuses: the page must still render.
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, locale: 'en-US@posix' })
  })
  afterAll(async () => {
    await browser?.close()
    await net?.stop()
  })

  const card = async (id: string) => (await page.locator(`[data-testid="${id}"] .value`).textContent())?.trim()

  it('shows the chain’s state, live: a new request reaches FINAL on screen and a dispute shows its outcome', async () => {
    await page.goto(net.dashboardUrl)
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 20_000 }).toContain('live')
    expect(await card('inferences')).toBe('0')

    const answers = []
    for (let i = 0; i < 8; i++) {
      answers.push(
        await infer(net.client, { modelId: net.modelId, inputs: { Input3: mnistImage(net.mnist, i) }, node: net.nodes[i % 2]!.url }),
      )
    }
    // A request of the honest node appears in the live stream and reaches FINAL on screen.
    const honest = answers[1]!
    await page.waitForSelector(`tr[data-id="${honest.inferenceId}"]`, { timeout: 30_000 })
    await page.waitForSelector(`tr[data-id="${honest.inferenceId}"][data-level="FINAL"]`, { timeout: 90_000 })
    for (const a of answers)
      await waitForTrust(net.client, { inferenceId: a.inferenceId, node: a.node.url, level: 'FINAL', timeoutMs: 90_000 })
    await net.indexer.caughtUp()

    // The counts on screen are the chain's.
    const { receipts, overturned, resolved } = await settledEvents(net)
    expect(receipts).toBe(8)
    expect(overturned.length).toBeGreaterThan(0)
    await expect.poll(() => card('inferences'), { timeout: 10_000 }).toBe(String(receipts))
    await expect.poll(() => card('overturned'), { timeout: 10_000 }).toBe(String(overturned.length))
    await expect.poll(() => card('final'), { timeout: 10_000 }).toBe(String(receipts - overturned.length))
    await expect.poll(() => card('games'), { timeout: 10_000 }).toBe(String(resolved.length))
    // Every committed receipt was re-executed (sample rate 1): the coverage table says so for its mode.
    await expect
      .poll(() => page.locator('#coverage tr[data-mode="optimistic"] td').last().textContent(), { timeout: 10_000 })
      .toBe('100.0 %')
    // Verification compute is reported by the verifiers: two of them re-executed every receipt.
    expect(await card('compute')).toMatch(/^\d+\.\d\d×$/)
    // Verification ÷ inference from chain facts alone: receipts in the verifiers' attestation bitmaps plus
    // the challenged ones, over the committed receipts (one model, so its cost cancels): the chain's events.
    const events = { address: net.book.contracts.settlement, abi: settlementAbi, fromBlock: 0n, strict: true } as const
    const attestedBits = (await net.chain.publicClient.getContractEvents({ ...events, eventName: 'Attested' })).reduce(
      (n, e) => n + e.args.receipts,
      0,
    )
    const challenged = (await net.chain.publicClient.getContractEvents({ ...events, eventName: 'ChallengeOpened' })).length
    const share = Math.floor(((attestedBits + challenged) * 1_000_000) / receipts) / 1_000_000
    expect(attestedBits + challenged).toBeGreaterThanOrEqual(receipts)
    await expect.poll(() => card('verification-share'), { timeout: 10_000 }).toBe(`${(100 * share).toFixed(2)} %`)
    const api = (await (await fetch(`${net.dashboardUrl}/api/summary`)).json()) as { verification: Record<string, unknown> }
    expect(api.verification).toMatchObject({ inferences: receipts, decoys: 0, reexecutions: attestedBits + challenged, unpriced: 0, share })
    // Every operator's API answered the indexer.
    await expect.poll(() => page.locator('#operators tbody tr').count(), { timeout: 10_000 }).toBe(4)
    expect(await page.locator('#operators tbody td.error').count()).toBe(0)
    // The faulty node's dispute is listed with its outcome.
    expect(await page.locator('#disputes tbody tr').count()).toBe(resolved.length)
    // (polled: the table may still show the game as it was at the previous refresh)
    await expect.poll(() => page.locator('#disputes tbody tr .outcome').first().textContent(), { timeout: 10_000 }).toBe('node lost')
    // One inference's page: its receipt and batch.
    await page.goto(`${net.dashboardUrl}/#${honest.inferenceId}`)
    await expect.poll(() => page.locator('#detail').textContent(), { timeout: 10_000 }).toContain('FINAL')
    // The browser checks the receipt itself: its digest, the node's signature, the inclusion proof to the batch root.
    await page.click('#verify')
    await expect
      .poll(() => page.locator('#verify-result').textContent(), { timeout: 10_000 })
      .toMatch(/^VALID: ✓ digest = id · ✓ signed by node .+ · ✓ in batch \d+/)
    // The page re-executes it itself (model artifact and input checked against the receipt's hashes): it matches.
    await page.click('#reexecute')
    await expect.poll(() => page.locator('#reexecute-result').textContent(), { timeout: 60_000 }).toMatch(/^MATCH: this browser computed/)
    // Its audit button re-executes it on the server from public data: the same verdict.
    await page.click('#audit')
    await expect.poll(() => page.locator('#audit-result').textContent(), { timeout: 30_000 }).toContain('MATCH:')
    // An overturned receipt of the faulty node: the browser's own run disagrees with what the node signed.
    const rows = (await (await fetch(`${net.dashboardUrl}/api/inferences?limit=50`)).json()) as { id: string; level: string }[]
    const overturnedId = rows.find((r) => r.level === 'OVERTURNED')!.id
    await page.goto(`${net.dashboardUrl}/#${overturnedId}`)
    await expect.poll(() => page.locator('#detail').textContent(), { timeout: 10_000 }).toContain('OVERTURNED')
    await page.click('#reexecute')
    await expect.poll(() => page.locator('#reexecute-result').textContent(), { timeout: 60_000 }).toMatch(/^MISMATCH: /)

    // The same figures in Prometheus text: the dashboard's network view adds up to the nodes' and verifiers' own /metrics.
    const scrape = async (url: string) => parseMetrics(await (await fetch(`${url}/metrics`)).text())
    const network = await scrape(net.dashboardUrl)
    const nodes = await Promise.all(net.nodes.map((n) => scrape(n.url)))
    const verifiers = await Promise.all(net.verifierUrls.map(scrape))
    const total = (all: Map<string, number>[], name: string) => all.reduce((a, m) => a + (m.get(name) ?? 0), 0)
    expect(network.get('verity_network_receipts{level="FINAL"}')).toBe(receipts - overturned.length)
    expect(network.get('verity_network_receipts{level="OVERTURNED"}')).toBe(overturned.length)
    expect(network.get('verity_network_verification_share')).toBe(share)
    for (const level of ['FINAL', 'OVERTURNED', 'EXECUTED']) {
      expect({ level, nodes: total(nodes, `verity_node_receipts{level="${level}"}`) }).toEqual({
        level,
        nodes: network.get(`verity_network_receipts{level="${level}"}`),
      })
    }
    for (const level of ['ATTESTED', 'FINAL']) {
      for (const le of ['1', '2', '5', '10', '20', '30', '+Inf']) {
        const bucket = `trust_gap_seconds_bucket{level="${level}",le="${le}"}`
        expect({ bucket, nodes: total(nodes, `verity_node_${bucket}`) }).toEqual({ bucket, nodes: network.get(`verity_network_${bucket}`) })
      }
    }
    expect(network.get('verity_network_compute_seconds_count{role="inference"}')).toBe(total(nodes, 'verity_node_compute_seconds_count'))
    expect(network.get('verity_network_compute_seconds_count{role="verification"}')).toBe(
      total(verifiers, 'verity_verifier_compute_seconds_count'),
    )
    expect(total(verifiers, 'verity_verifier_compute_seconds_count')).toBe(2 * receipts)
    // The hub serves its own: one model stored, fetched by the nodes and verifiers that run it.
    const hub = await scrape(net.hubUrl)
    expect(hub.get('verity_hub_models')).toBe(1)
    expect([...hub.entries()].some(([k, v]) => k.startsWith('verity_hub_downloads_total{') && v >= 1)).toBe(true)
    // A verifier's API refuses a bad cursor with a typed error.
    const refused = await fetch(`${net.verifierUrls[0]}/v1/checks?after=-1`)
    expect(refused.status).toBe(400)
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('INVALID_CURSOR')

    if (process.env.VERITY_SCREENSHOT) {
      await page.goto(net.dashboardUrl)
      await page.waitForTimeout(1500)
      writeFileSync(join(root, 'docs', 'dashboard.png'), await page.screenshot({ fullPage: true }))
    }
  })
})

/** Prometheus text → sample name with labels → value. */
function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>()
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line)
    if (match) samples.set(match[1]!, Number(match[2]))
  }
  return samples
}
