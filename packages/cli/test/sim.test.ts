import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { simCommand } from '../src/commands/sim.js'

describe('verity sim', () => {
  it('prints a JSON report per model and writes the EV plot as SVG', async () => {
    const svg = join(mkdtempSync(join(tmpdir(), 'verity-sim-')), 'ev.svg')
    const printed: string[] = []
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line))
    try {
      await simCommand({
        model: 'mnist-8',
        seed: 1,
        nodes: 100,
        verifiers: 24,
        inferences: 300_000,
        hours: 6,
        params: 'derived',
        selectedBitsOnly: false,
        json: true,
        svg,
      })
    } finally {
      log.mockRestore()
    }
    const [report] = JSON.parse(printed.join('\n'))
    expect(report.model).toBe('mnist-8')
    expect(report.inferences).toBeGreaterThanOrEqual(300_000)
    expect(report.params.baseRateBps).toBe(40)
    expect(report.rows.map((x: { strategy: string }) => x.strategy)).toContain('cheat+withhold r=0.05')
    const image = readFileSync(svg, 'utf8')
    expect(image.startsWith('<svg')).toBe(true)
    expect(image).toContain('EV per hour vs honest (USD) — mnist-8')
  })

  it('rejects an unknown model or parameter set with a usage error naming what it expected', async () => {
    const base = {
      seed: 1,
      nodes: 10,
      verifiers: 5,
      inferences: 10_000,
      hours: 1,
      params: 'derived' as const,
      selectedBitsOnly: false,
      json: true,
    }
    await expect(simCommand({ ...base, model: 'gpt-9' })).rejects.toMatchObject({ code: 'USAGE', details: { found: 'gpt-9' } })
    await expect(simCommand({ ...base, params: 'cheap' as never })).rejects.toMatchObject({ code: 'USAGE', details: { found: 'cheap' } })
  })
})
