export {
  BASE_RATE_GRID_BPS,
  type Candidate,
  candidateFor,
  DECOY_RATE_GRID_BPS,
  DEFAULT_REQUIREMENTS,
  deriveDefaults,
  inDerivedRegion,
  type Requirements,
} from './deriveDefaults.js'
export {
  type Assumptions,
  cheatEvPerReceipt,
  computeFeesOf,
  DEFAULT_ASSUMPTIONS,
  detectionProbability,
  strategyEvPerHour,
  type VerifierEconomics,
  verifierEconomics,
} from './expectedValue.js'
export {
  type CostProfile,
  DEFAULT_ENVIRONMENT,
  DISPUTE_GAME_GAS,
  type Environment,
  GAS,
  LEGACY_PARAMS,
  type ProtocolParams,
  type UnitCosts,
  unitCosts,
} from './params.js'
export { defaultPopulation } from './population.js'
export { loadCostProfiles } from './profiles.js'
export { createRandom, type Random } from './random.js'
export { renderSvg, renderTable, type SimReport, simReport } from './report.js'
export { type ActorResult, type NodeResult, type SimulationConfig, type SimulationResult, simulate, UNITS_PER_FEE } from './simulate.js'
export { cheatRateOf, type NodeStrategy, strategyName, type VerifierStrategy } from './strategies.js'
