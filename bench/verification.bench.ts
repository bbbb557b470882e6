// Does verification stay cheap as models grow? For every measured model (packages/sim/costProfiles.json,
// from `npm run bench:profiles`): the economics simulation at the derived defaults (DERIVED_DEFAULTS) and
// at the legacy devnet parameters (3 verifiers at 30 %, no decoys), 100 nodes, 24 verifiers, 10 M
// inferences over 24 h, seed 1. Prints verification compute ÷ inference compute, gas per inference,
// the honest verifier's profit, the best cheating and lazy EVs, and the simulation's own wall time.
// Run: npm run bench:verification
import { DERIVED_DEFAULTS } from '../packages/chain/src/index.js'
import {
  DEFAULT_ENVIRONMENT,
  defaultPopulation,
  LEGACY_PARAMS,
  loadCostProfiles,
  type ProtocolParams,
  simReport,
  simulate,
  unitCosts,
} from '../packages/sim/src/index.js'

const { machine, profiles } = loadCostProfiles()
const population = defaultPopulation(100, 24)
const inferences = Number(process.env.VERITY_SIM_INFERENCES ?? 10_000_000)

const honestNetwork = {
  nodes: population.nodes.map(() => ({ kind: 'honest' }) as const),
  verifiers: population.verifiers.map(() => 'honest' as const),
}

function run(params: ProtocolParams, profile: (typeof profiles)[number], who = population, initialCommits = 0) {
  const config = { seed: 1, params, env: DEFAULT_ENVIRONMENT, profile, ...who, inferences, hours: 24, initialCommits }
  const t = performance.now()
  const report = simReport(config, simulate(config))
  return { report, ms: performance.now() - t }
}

console.log(`cost profiles: ${machine}; ${inferences.toLocaleString('en-US')} inferences, 100 nodes, 24 verifiers, 24 h, seed 1\n`)
const pct = (x: number) => `${(x * 100).toFixed(2)} %`
console.log(
  'Honest network (100 honest nodes, 24 honest verifiers): mature (every node past maturityCommits) and new (every node starts at commit 0)\n',
)
console.log(
  '| model | CPU ms / inference | fee (USD) | verification ÷ inference compute, mature (derived) | same, new network (derived) | same, legacy 3 × 30 % | gas / inference, mature (derived) | gas / inference, legacy | honest verifier USD/h, mature |',
)
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
for (const profile of profiles) {
  const mature = run({ ...DERIVED_DEFAULTS }, profile, honestNetwork, DERIVED_DEFAULTS.maturityCommits).report
  const fresh = run({ ...DERIVED_DEFAULTS }, profile, honestNetwork).report
  const legacy = run(LEGACY_PARAMS, profile, honestNetwork).report
  console.log(
    `| ${profile.model} | ${profile.cpuMsPerInference} | ${unitCosts(profile, DEFAULT_ENVIRONMENT).fee.toExponential(2)} | ${pct(mature.honestVerificationShare)} | ${pct(fresh.honestVerificationShare)} | ${pct(legacy.honestVerificationShare)} | ${mature.honestGasPerInference.toFixed(0)} | ${legacy.honestGasPerInference.toFixed(0)} | ${mature.honestVerifierProfitPerHourUsd.toFixed(2)} |`,
  )
}
console.log(
  '\nWith adversaries (defaultPopulation: 24 cheating nodes, 2 lazy, 1 careful lazy, 1 colluding, 2 false-challenging verifiers), new network\n',
)
console.log(
  '| model | verification ÷ inference compute, honest nodes (derived) | same, every node (derived) | same, legacy | gas / inference, honest nodes (derived) | gas / inference, legacy | honest verifier USD/h | best cheating EV vs honest, USD/h | lazy verifier EV vs honest, USD/h | sim wall time |',
)
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
for (const profile of profiles) {
  const derived = run({ ...DERIVED_DEFAULTS }, profile)
  const legacy = run(LEGACY_PARAMS, profile)
  const r = derived.report
  const cheats = r.rows.filter((x) => x.role === 'node' && x.strategy !== 'honest')
  const lazy = r.rows.find((x) => x.strategy === 'lazy')
  console.log(
    `| ${profile.model} | ${pct(r.honestVerificationShare)} | ${pct(r.verificationShare)} | ${pct(legacy.report.honestVerificationShare)} | ${r.honestGasPerInference.toFixed(0)} | ${legacy.report.honestGasPerInference.toFixed(0)} | ${r.honestVerifierProfitPerHourUsd.toFixed(2)} | ${Math.max(...cheats.map((x) => x.evVsHonestPerHourUsd)).toFixed(4)} | ${lazy?.evVsHonestPerHourUsd.toFixed(2) ?? '—'} | ${(derived.ms / 1000).toFixed(1)} s |`,
  )
}
