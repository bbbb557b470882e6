/** Operator roles of NodeRegistry (the Solidity enum `NodeRegistry.Role`). */
export const Role = { inference: 1, verifier: 2 } as const
export type RoleName = keyof typeof Role

/** Batch status of Settlement (the Solidity enum `Settlement.BatchStatus`). */
export const BatchStatus = { none: 0, committed: 1, challenged: 2, finalized: 3 } as const

/** Challenge status of Settlement (the Solidity enum `Settlement.ChallengeStatus`). */
export const ChallengeStatus = { none: 0, open: 1, expired: 2 } as const
