import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { DevnetSummary } from '../src/commands/devnet.js'
import { main } from '../src/main.js'

/** `verity devnet --adversary <strategy> --exit --json`, in process: the summary it prints. */
async function devnetWith(strategy: string): Promise<DevnetSummary> {
  const lines: string[] = []
  const spy = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(String(line)))
  try {
    const dir = join(mkdtempSync(join(tmpdir(), `verity-${strategy}-`)), 'net')
    const code = await main(
      ['node', 'verity', 'devnet', '--adversary', strategy, '--exit', '--json', '--dir', dir]
        .concat(['--port', '0', '--dashboard-port', '0', '--requests', '8', '--window', '6', '--sample-rate', '1'])
        .concat(['--nodes', '2', '--verifiers', '2', '--batch-size', '4']),
    )
    expect(code).toBe(0)
  } finally {
    spy.mockRestore()
  }
  return JSON.parse(lines.findLast((l) => l.startsWith('{'))!) as DevnetSummary
}

afterEach(() => vi.restoreAllMocks())

/**
 * Off-chain adversaries of the devnet, each a wrapper around an honest node (an HTTP proxy in front
 * of its app): the outcome is read from the `--json` summary.
 */
describe('adversarial devnet off the chain', () => {
  it('tarpit: node 0 holds the verifiers’ connections open; the honest node’s batches are still attested in their window', async () => {
    const s = await devnetWith('tarpit')
    expect(s.adversary).toMatchObject({ strategy: 'tarpit' })
    const a = s.adversary as Extract<DevnetSummary['adversary'], { strategy: 'tarpit' }>
    expect(a.connectionsHeld).toBeGreaterThan(0)
    expect(a.tarpitBatches).toBeGreaterThan(0)
    expect(a.tarpitBatchesAttested).toBe(0)
    expect(a.honestBatches).toBeGreaterThan(0)
    expect(a.honestBatchesAttestedInWindow).toBe(a.honestBatches)
    expect(s.levels.FINAL).toBe(8)
  })

  it('receipt-forger: node 0 answers another receipt for an id; the SDK rejects every forged answer with a typed error', async () => {
    const s = await devnetWith('receipt-forger')
    const a = s.adversary as Extract<DevnetSummary['adversary'], { strategy: 'receipt-forger' }>
    expect(a.strategy).toBe('receipt-forger')
    expect(a.sdkChecks).toBe(4)
    expect(a.forgedAnswers).toBeGreaterThanOrEqual(a.sdkChecks)
    expect(a.sdkAccepted).toBe(0)
    expect(a.sdkRejected).toEqual({ RECEIPT_ID_MISMATCH: 4 })
    expect(s.levels.FINAL).toBe(8)
  })
})
