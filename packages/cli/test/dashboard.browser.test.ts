import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { mnistImage } from '@verity/runtime'
import { infer, waitForTrust } from '@verity/sdk'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Devnet, startDevnet } from '../src/devnet/startDevnet.js'
import { settledEvents } from './devnetState.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const shared = join(root, '..', 'shared')

/**
 * The dashboard in real headless Chromium (Debian's, driven by playwright-core) against a devnet
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
      shared,
      nodes: 2,
      verifiers: 2,
      window: 10,
      sampleRate: 1,
      batchSize: 4,
      fault: { kind: 'flip-output', rate: 0.5, seed: 2 },
    })
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    })
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
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
    // The faulty node's dispute is listed with its outcome.
    expect(await page.locator('#disputes tbody tr').count()).toBe(resolved.length)
    expect(await page.locator('#disputes tbody tr .outcome').first().textContent()).toBe('node lost')
    // One inference's page: its receipt and batch.
    await page.goto(`${net.dashboardUrl}/#${honest.inferenceId}`)
    await expect.poll(() => page.locator('#detail').textContent(), { timeout: 10_000 }).toContain('FINAL')
    // Its audit button re-executes it from public data: the honest node's answer matches.
    await page.click('#audit')
    await expect.poll(() => page.locator('#audit-result').textContent(), { timeout: 30_000 }).toContain('MATCH:')

    if (process.env.VERITY_SCREENSHOT) {
      await page.goto(net.dashboardUrl)
      await page.waitForTimeout(1500)
      writeFileSync(join(root, 'docs', 'dashboard.png'), await page.screenshot({ fullPage: true }))
    }
  })
})
