/**
 * The money rules of `Settlement.sol`, written once as pure functions (token amounts in wei) so the
 * economics simulation (`@verity/sim`) and anyone else can reason with exactly what the contract
 * does. `packages/contracts/test/settlementRules.differential.test.ts` runs random cases through the
 * contract on the embedded chain and through these functions and asserts equality. Rules marked
 * "coming" are not in the contract yet (see each one).
 */

export const BPS = 10_000n

/** `commitBatch`: a node may have `open + count` receipts in open batches only if each can be slashed in full. */
export function exposureAllows(parameters: { openReceipts: bigint; count: bigint; receiptSlash: bigint; stake: bigint }): boolean {
  return (parameters.openReceipts + parameters.count) * parameters.receiptSlash <= parameters.stake
}

/** `redeem`: of `debited`, `verifierShareBps` goes to the node's verification pot, the rest to the node. */
export function redeemSplit(debited: bigint, verifierShareBps: bigint): { toVerifiers: bigint; toNode: bigint } {
  const toVerifiers = (debited * verifierShareBps) / BPS
  return { toVerifiers, toNode: debited - toVerifiers }
}

/**
 * A slash (of a node in `_overturn`, of an attester in `slashAttester`): the challenger (or the
 * caller) gets `bountyBps` of what was actually slashed, the rest is burned. `slashed` is what the
 * registry could take: min(slash, stake).
 */
export function slashSplit(slash: bigint, stake: bigint, bountyBps: bigint): { slashed: bigint; bounty: bigint; burned: bigint } {
  const slashed = slash < stake ? slash : stake
  const bounty = (slashed * bountyBps) / BPS
  return { slashed, bounty, burned: slashed - bounty }
}

/**
 * `_restitute`: an overturned receipt's `fee` goes back to the client up to what it paid the node on
 * this channel and was not refunded yet (`refundable`) — first from the node's unclaimed earnings,
 * then from its stake; the part it had not paid becomes a credit against its next redemptions.
 */
export function restitution(parameters: { fee: bigint; refundable: bigint; nodeClaimable: bigint; nodeStake: bigint }): {
  refund: bigint
  fromEarnings: bigint
  fromStake: bigint
  credit: bigint
} {
  const { fee, refundable, nodeClaimable, nodeStake } = parameters
  const due = fee < refundable ? fee : refundable
  const credit = fee - due
  const fromEarnings = due < nodeClaimable ? due : nodeClaimable
  const rest = due - fromEarnings
  const fromStake = rest < nodeStake ? rest : nodeStake
  return { refund: fromEarnings + fromStake, fromEarnings, fromStake, credit }
}

/**
 * `finalize` as the contract does it today: the pool (`verifierShareBps` of the batch's fee total,
 * capped by the node's pot) is split in equal shares among the attesters; a slashed attester's share
 * stays in the pot. Returns each attester's pay (in the given order) and the total paid.
 */
export function attesterPayEqual(parameters: { feeTotal: bigint; verifierShareBps: bigint; pot: bigint; slashed: readonly boolean[] }): {
  pay: bigint[]
  paid: bigint
} {
  const { feeTotal, verifierShareBps, pot, slashed } = parameters
  if (slashed.length === 0) return { pay: [], paid: 0n }
  let pool = (feeTotal * verifierShareBps) / BPS
  if (pool > pot) pool = pot
  const share = pool / BigInt(slashed.length)
  const pay = slashed.map((s) => (s ? 0n : share))
  return { pay, paid: pay.reduce((a, b) => a + b, 0n) }
}

/**
 * Coming (the lead's change to `finalize`, not in the contract yet; its differential test comes with
 * it): the pool is split pro rata to the receipts each attester attested (`bits`), rounding down; a
 * slashed attester gets nothing and its part stays in the pot.
 */
export function attesterPayProRata(parameters: {
  feeTotal: bigint
  verifierShareBps: bigint
  pot: bigint
  bits: readonly bigint[]
  slashed: readonly boolean[]
}): { pay: bigint[]; paid: bigint } {
  const { feeTotal, verifierShareBps, pot, bits, slashed } = parameters
  const total = bits.reduce((a, b) => a + b, 0n)
  if (total === 0n) return { pay: bits.map(() => 0n), paid: 0n }
  let pool = (feeTotal * verifierShareBps) / BPS
  if (pool > pot) pool = pot
  const pay = bits.map((b, i) => (slashed[i] ? 0n : (pool * b) / total))
  return { pay, paid: pay.reduce((a, b) => a + b, 0n) }
}
