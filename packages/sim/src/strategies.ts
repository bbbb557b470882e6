/** What an inference node does (docs/economics.md, "Strategies"). */
export type NodeStrategy =
  | { kind: 'honest' }
  /** Answers a share `rate` of receipts without computing: uniformly, all of one client's (its traffic share), or on inputs it chose (gaining `externalGainFees` per cheat beyond the compute saved). */
  | { kind: 'cheat'; rate: number; target: 'uniform' | 'client' | 'inputs'; externalGainFees?: number }
  /** Cheats at `rate` and does not serve the data of cheated receipts (answered by data challenges). */
  | { kind: 'withhold'; rate: number }
  /** Cheats at `rate` with a stake that covers only `stakeCoverage` of the receipts it serves in a window. */
  | { kind: 'pastStake'; rate: number; stakeCoverage: number }
  /** Cheats at `rate` and tells its colluding verifier(s) which receipts are cheats and decoys. */
  | { kind: 'collude'; rate: number }

/** What a verifier does. */
export type VerifierStrategy =
  | 'honest'
  /** Attests every receipt of its sample without re-executing any. */
  | 'lazy'
  /**
   * Re-executes nothing but can tell decoys from real receipts (a decoy's client holds no escrow):
   * challenges the decoys of its assignment (conceded: it earns the reward) and attests the rest of its
   * assignment unexecuted (Settlement refuses less).
   */
  | 'carefulLazy'
  /** With the colluding node(s): attests every receipt it knows is real and correct (all of them, for the pool) without executing, never challenges them; honest elsewhere. */
  | 'colluding'
  /** Honest, and also challenges one correct receipt in each batch it samples. */
  | 'falseChallenger'

export const strategyName = (s: NodeStrategy): string => {
  switch (s.kind) {
    case 'honest':
      return 'honest'
    case 'cheat':
      return `cheat ${s.target} r=${s.rate}`
    case 'withhold':
      return `cheat+withhold r=${s.rate}`
    case 'pastStake':
      return `cheat past stake r=${s.rate}`
    case 'collude':
      return `cheat+collude r=${s.rate}`
  }
}

export const cheatRateOf = (s: NodeStrategy): number => (s.kind === 'honest' ? 0 : s.rate)
