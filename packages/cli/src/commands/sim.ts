import { writeFileSync } from 'node:fs'
import { DERIVED_DEFAULTS } from '@verity/chain'
import {
  DEFAULT_ENVIRONMENT,
  defaultPopulation,
  LEGACY_PARAMS,
  loadCostProfiles,
  type ProtocolParams,
  renderSvg,
  renderTable,
  type SimReport,
  simReport,
  simulate,
} from '@verity/sim'
import { UsageError } from '../samples.js'

export type SimOptions = {
  model?: string
  seed: number
  nodes: number
  verifiers: number
  inferences: number
  hours: number
  params: 'derived' | 'legacy'
  selectedBitsOnly: boolean
  json: boolean
  svg?: string
}

/**
 * `verity sim`: runs the economics simulation for each measured model (or `--model`), prints a table
 * per model (or `--json`), and writes the EV-per-strategy plot of the first model to `--svg`.
 */
export async function simCommand(o: SimOptions): Promise<SimReport[]> {
  const { profiles } = loadCostProfiles()
  const chosen = o.model ? profiles.filter((p) => p.model === o.model) : profiles
  if (chosen.length === 0) {
    throw new UsageError(`unknown model "${o.model}": expected one of ${profiles.map((p) => p.model).join(', ')}`, {
      expected: profiles.map((p) => p.model),
      found: o.model,
    })
  }
  if (o.params !== 'derived' && o.params !== 'legacy') {
    throw new UsageError(`--params: expected "derived" or "legacy", found "${String(o.params)}"`, { found: o.params })
  }
  const base: ProtocolParams = o.params === 'legacy' ? LEGACY_PARAMS : { ...DERIVED_DEFAULTS }
  const params: ProtocolParams = o.selectedBitsOnly ? { ...base, selectedBitsOnly: true } : base
  const population = defaultPopulation(o.nodes, o.verifiers)
  const reports = chosen.map((profile) => {
    const config = { seed: o.seed, params, env: DEFAULT_ENVIRONMENT, profile, ...population, inferences: o.inferences, hours: o.hours }
    return simReport(config, simulate(config))
  })
  if (o.json) console.log(JSON.stringify(reports, null, 2))
  else for (const r of reports) console.log(`${renderTable(r)}\n`)
  if (o.svg) {
    writeFileSync(o.svg, await renderSvg(reports[0]!))
    if (!o.json) console.log(`wrote ${o.svg}`)
  }
  return reports
}
