/** Operator roles of NodeRegistry (the Solidity enum `NodeRegistry.Role`). */
export const Role = { inference: 1, verifier: 2 } as const
export type RoleName = keyof typeof Role

/** Batch status of Settlement (the Solidity enum `Settlement.BatchStatus`). */
export const BatchStatus = { none: 0, committed: 1, challenged: 2, finalized: 3 } as const

/** Challenge status of Settlement (the Solidity enum `Settlement.ChallengeStatus`). */
export const ChallengeStatus = { none: 0, open: 1, expired: 2, upheld: 3, rejected: 4 } as const

/** Phase of a DisputeGame game (the Solidity enum `DisputeGame.Phase`). */
export const GamePhase = {
  none: 0,
  awaitTrace: 1,
  reveal: 2,
  choose: 3,
  selectOp: 4,
  awaitChunk: 5,
  awaitStep: 6,
  awaitSum: 7,
  sumReveal: 8,
  sumChoose: 9,
  awaitTerm: 10,
  resolved: 11,
} as const

/** Why a game was decided (the Solidity enum `DisputeGame.Reason`). */
export const GameReason = { none: 0, timeout: 1, oneStep: 2, padding: 3, agreedInput: 4, conceded: 5 } as const
