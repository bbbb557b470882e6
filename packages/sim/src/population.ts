import type { NodeStrategy, VerifierStrategy } from './strategies.js'

const RATES = [0.01, 0.05, 0.2, 1] as const

/**
 * The default population: `nodes` inference nodes of which 24 play each cheating strategy at cheat
 * rates 1 %, 5 %, 20 % and 100 % (uniform, one client, chosen inputs worth one fee each, with data
 * withheld, past a stake covering half its exposure, colluding with a verifier), the rest honest; and
 * `verifiers` verifiers: 2 lazy, 1 careful lazy, 1 colluding, 2 false challengers, the rest honest.
 */
export function defaultPopulation(nodes = 100, verifiers = 24): { nodes: NodeStrategy[]; verifiers: VerifierStrategy[] } {
  const cheaters: NodeStrategy[] = RATES.flatMap((rate) => [
    { kind: 'cheat', rate, target: 'uniform' } as const,
    { kind: 'cheat', rate, target: 'client' } as const,
    { kind: 'cheat', rate, target: 'inputs', externalGainFees: 1 } as const,
    { kind: 'withhold', rate } as const,
    { kind: 'pastStake', rate, stakeCoverage: 0.5 } as const,
    { kind: 'collude', rate } as const,
  ])
  const honest = Math.max(1, nodes - cheaters.length)
  const special: VerifierStrategy[] = ['lazy', 'lazy', 'carefulLazy', 'colluding', 'falseChallenger', 'falseChallenger']
  return {
    nodes: [...Array.from({ length: honest }, () => ({ kind: 'honest' }) as const), ...cheaters],
    verifiers: [...Array.from({ length: Math.max(1, verifiers - special.length) }, () => 'honest' as const), ...special],
  }
}
