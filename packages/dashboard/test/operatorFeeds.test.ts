import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeMode, hashReceipt, type Receipt, Role, receiptToWire } from '@verity/contracts'
import { serveApp } from '@verity/node'
import { Hono } from 'hono'
import type { Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { summaryOf, verificationOf } from '../src/figures.js'
import { IndexStore } from '../src/indexStore.js'
import { operatorFeeds } from '../src/operatorFeeds.js'

const domain = { chainId: 31337, settlement: '0x5FbDB2315678afecb367f032d93F642f64180aa3' as Hex }
const node = privateKeyToAccount(generatePrivateKey())
const stranger = privateKeyToAccount(generatePrivateKey())
const verifier = privateKeyToAccount(generatePrivateKey())
const hex32 = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as Hex

function receiptOf(n: number, from = node.address): Receipt {
  return {
    requestHash: hex32(n),
    modelId: hex32(1000),
    inputHash: hex32(2000 + n),
    outputHash: hex32(3000 + n),
    node: from,
    client: stranger.address,
    fee: 10n ** 15n,
    issuedAt: 1_700_000_000n + BigInt(n),
    mode: encodeMode(n % 2 === 0 ? 'optimistic' : 'quorum:2'),
  }
}

/**
 * The indexer's feeds of the operators' own APIs, against HTTP servers that answer as a node and a
 * verifier do (receipts signed with real keys): only receipts of that node, with the right id and
 * its signature, are indexed (at EXECUTED, with their compute time); the verifier's re-executions
 * are indexed with theirs; cursors make a second pass read nothing twice; a failing API is marked.
 */
describe('operator feeds', () => {
  let store: IndexStore
  let closers: (() => Promise<void>)[] = []
  const served: unknown[] = []
  const checks: unknown[] = []
  let nodeUp = true

  beforeAll(async () => {
    store = new IndexStore(join(mkdtempSync(join(tmpdir(), 'verity-feeds-')), 'index.sqlite'))
    const sign = async (r: Receipt) => node.sign({ hash: hashReceipt(r, domain) })
    // seq 1, 2: valid; 3: signed by someone else; 4: another node's receipt; 5: wrong id; 6: valid.
    const valid = async (seq: number) => {
      const r = receiptOf(seq)
      return { seq, inferenceId: hashReceipt(r, domain), receipt: receiptToWire(r), signature: await sign(r), computeMs: 2.5 * seq }
    }
    served.push(await valid(1), await valid(2))
    const forged = receiptOf(3)
    served.push({
      seq: 3,
      inferenceId: hashReceipt(forged, domain),
      receipt: receiptToWire(forged),
      signature: await stranger.sign({ hash: hashReceipt(forged, domain) }),
      computeMs: 1,
    })
    const foreign = receiptOf(4, stranger.address)
    served.push({
      seq: 4,
      inferenceId: hashReceipt(foreign, domain),
      receipt: receiptToWire(foreign),
      signature: await stranger.sign({ hash: hashReceipt(foreign, domain) }),
      computeMs: 1,
    })
    served.push({ ...(await valid(5)), inferenceId: hex32(5) })
    served.push(await valid(6))
    checks.push(
      {
        seq: 1,
        batchId: 0,
        index: 0,
        inferenceId: (served[0] as { inferenceId: string }).inferenceId,
        mode: 1,
        computeMs: 4,
        matched: true,
        atMs: 1,
      },
      {
        seq: 2,
        batchId: 0,
        index: 1,
        inferenceId: (served[1] as { inferenceId: string }).inferenceId,
        mode: 0x82,
        computeMs: -1,
        matched: true,
        atMs: 2,
      },
    )
    const nodeApi = new Hono().get('/v1/receipts', (c) => {
      if (!nodeUp) return c.json({ error: { code: 'DOWN', message: 'down' } }, 503)
      const after = Number(c.req.query('after'))
      const page = served.filter((r) => (r as { seq: number }).seq > after).slice(0, Number(c.req.query('limit')))
      return c.json({ receipts: page, next: (page.at(-1) as { seq: number } | undefined)?.seq ?? after })
    })
    const verifierApi = new Hono().get('/v1/checks', (c) => {
      const after = Number(c.req.query('after'))
      const page = checks.filter((r) => (r as { seq: number }).seq > after)
      return c.json({ checks: page, next: (page.at(-1) as { seq: number } | undefined)?.seq ?? after })
    })
    const a = await serveApp(nodeApi)
    const b = await serveApp(verifierApi)
    closers = [a.close, b.close]
    const register = (address: string, role: number, endpoint: string) =>
      store.run(
        'INSERT INTO operators (address, role, endpoint, registered_at_ms) VALUES (?, ?, ?, 0)',
        address.toLowerCase(),
        role,
        endpoint,
      )
    register(node.address, Role.inference, a.url)
    register(verifier.address, Role.verifier, b.url)
    register(stranger.address, Role.verifier, 'not-a-url')
  })
  afterAll(async () => {
    for (const close of closers) await close()
    store.close()
  })

  it('indexes only the node’s own signed receipts, at EXECUTED with their compute time, and the verifier’s re-executions', async () => {
    const logs: string[] = []
    const poll = operatorFeeds({ store, domain, log: (line) => logs.push(line) })
    await poll()
    const rows = store.all<{ id: string; compute_ms: number; batch_id: number | null }>(
      'SELECT id, compute_ms, batch_id FROM inferences ORDER BY compute_ms',
    )
    const ids = [1, 2, 6].map((n) => hashReceipt(receiptOf(n), domain).toLowerCase())
    expect(rows.map((r) => r.id)).toEqual(ids)
    expect(rows.map((r) => r.compute_ms)).toEqual([2.5, 5, 15])
    expect(rows.every((r) => r.batch_id === null)).toBe(true)
    expect(store.getMeta(`receipts:${node.address.toLowerCase()}`)).toBe('6')
    // The check with a negative compute time is not a figure: skipped.
    expect(store.all('SELECT idx, compute_ms FROM checks')).toEqual([{ idx: 0, compute_ms: 4 }])

    const summary = summaryOf(store)
    expect(summary.levels.EXECUTED).toBe(3)
    expect(summary.inferences).toBe(3)
    expect(summary.compute).toMatchObject({ inferenceMs: 22.5, inferenceRuns: 3, verificationMs: 4, verificationRuns: 1 })
    const v = verificationOf(store, 10)
    expect(v.modes).toEqual(['optimistic', 'quorum:2'])
    expect(v.series.reduce((a, s) => a + s.inferences, 0)).toBe(3)
    expect(v.series.reduce((a, s) => a + s.verificationMs, 0)).toBe(4)

    // A second pass reads nothing twice.
    await poll()
    expect(store.get<{ n: number }>('SELECT COUNT(*) AS n FROM inferences')!.n).toBe(3)
    expect(logs).toEqual([])
  })

  it('marks an operator whose API fails, logs it once, and clears the mark when it answers again', async () => {
    const logs: string[] = []
    const poll = operatorFeeds({ store, domain, log: (line) => logs.push(line) })
    nodeUp = false
    await poll()
    await poll()
    const error = () => store.get<{ api_error: string | null }>('SELECT api_error FROM operators WHERE role = 1')!.api_error
    expect(error()).toMatch(/answered 503/)
    expect(logs.length).toBe(1)
    nodeUp = true
    await poll()
    expect(error()).toBeNull()
  })
})
