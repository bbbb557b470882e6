import { TxSender, type WriteResult } from '@verity/chain'
import { type Address, encodeFunctionData, getAddress, type Hex, keccak256, parseEventLogs, toHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { BatchStatus, ChallengeStatus, eip712Types, hashReceipt, hashRequest, type Receipt, Role, verityDomain } from '../src/index.js'
import {
  deployFixture,
  domainOf,
  expectRevert,
  type Fixture,
  forgedReceipts,
  inputOf,
  OTHER_MODEL,
  redemptionOf,
  registerOperator,
  signVoucher,
  sortAddresses,
  TOKEN,
  treeOf,
  type Voucher,
} from './fixture.js'
import { guessedTags } from './guessedTags.js'

let f: Fixture
let snapshot: Hex
beforeAll(async () => {
  f = await deployFixture()
})
afterAll(() => f.close())
beforeEach(async () => {
  snapshot = await f.chain.snapshot()
})
afterEach(async () => {
  await f.chain.revert(snapshot)
})

const sender = (i: number) => new TxSender({ chain: f.chain, account: f.chain.accounts[i]!.privateKey })
const s = () => ({ address: f.book.contracts.settlement, abi: f.contracts.settlement.abi }) as const
const read = () => f.contracts.settlement.read
const balance = (who: Address) => f.contracts.token.read.balanceOf([who])
const stakeOf = async (who: Address, role: number) => (await f.contracts.nodeRegistry.read.getOperator([who, role])).staked
const events = (result: WriteResult, eventName: string) =>
  parseEventLogs({ abi: s().abi, logs: result.receipt.logs, eventName: eventName as never }).map(
    (e) => (e as unknown as { args: Record<string, unknown> }).args,
  )

const NODE = 1
const VERIFIERS = [2, 3]
const CLIENT = 4
const OTHER = 5
const HOSTILE = 6
const BURN = '0x000000000000000000000000000000000000dEaD'
const fee = 10n ** 16n
const SLASH = 10n * TOKEN
const BOND = 10n * TOKEN
const WINDOW = 100
const RESPONSE = 50
const DATA_BOND = 1n * TOKEN

/** Node 1 and verifiers 2, 3 staked; client 4 with 100 tokens of escrow. */
async function setup() {
  await registerOperator(f, sender(NODE), 'inference')
  for (const v of VERIFIERS) await registerOperator(f, sender(v), 'verifier')
  await sender(CLIENT).write({ ...s(), functionName: 'deposit', args: [100n * TOKEN] })
}

/** `count` requests of the client to `node`, channel totals fee, 2·fee, …, each answered at `fee`. */
async function vouchers(count: number, node = sender(NODE).address, from = 0): Promise<Voucher[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      signVoucher(f, { signer: sender(CLIENT), node, seed: from + i, channelTotal: fee * BigInt(from + i + 1), fee }),
    ),
  )
}

/** Commits `receipts` from `committer` with its next sequence number. */
async function commit(receipts: readonly Receipt[], committer = sender(NODE)) {
  const { tree, feeTotal } = treeOf(f, receipts)
  const sequence = (await read().exposureOf([committer.address])).commits + 1
  const result = await committer.write({
    ...s(),
    functionName: 'commitBatch',
    args: [tree.root, receipts.length, feeTotal, sequence, 'http://node/b'],
  })
  return { tree, feeTotal, receipts, result, batchId: await read().batchCount() }
}

async function finalizeAfterWindow(batchId: bigint, attesters: Address[] = []) {
  await f.chain.increaseTime(WINDOW + 1)
  return sender(OTHER).write({ ...s(), functionName: 'finalize', args: [batchId, sortAddresses(attesters)] })
}

/** Commits the receipts (or the vouchers' receipts) and finalizes the batch. */
async function settled(items: readonly (Voucher | Receipt)[], committer = sender(NODE)) {
  const batch = await commit(
    items.map((x) => ('receipt' in x ? x.receipt : x)),
    committer,
  )
  await finalizeAfterWindow(batch.batchId)
  return batch
}

function redeemArgs(v: Voucher, batch: { batchId: bigint; tree: { proof(i: number): Hex[] } }, index: number) {
  return [v.request, v.signature, redemptionOf(v.receipt, batch.batchId, index, batch.tree.proof(index))] as const
}

const redeem = (v: Voucher, batch: { batchId: bigint; tree: { proof(i: number): Hex[] } }, index: number, by = sender(NODE)) =>
  by.write({ ...s(), functionName: 'redeem', args: redeemArgs(v, batch, index) })

const challengeData = (batch: { batchId: bigint; tree: { proof(i: number): Hex[] }; receipts: readonly Receipt[] }, index: number) =>
  sender(OTHER).write({
    ...s(),
    functionName: 'challengeData',
    args: [batch.batchId, batch.receipts[index]!, index, batch.tree.proof(index)],
  })

describe('Settlement: escrow', () => {
  it('test_deposit_and_depositFor_succeeds', async () => {
    const result = await sender(CLIENT).write({ ...s(), functionName: 'deposit', args: [3n * TOKEN] })
    expect(events(result, 'Deposited')[0]).toMatchObject({ amount: 3n * TOKEN, balance: 3n * TOKEN })
    await sender(OTHER).write({ ...s(), functionName: 'depositFor', args: [sender(CLIENT).address, 2n * TOKEN] })
    expect((await read().escrowOf([sender(CLIENT).address])).balance).toBe(5n * TOKEN)
    expect(await balance(f.book.contracts.settlement)).toBe(5n * TOKEN)
  })

  it('test_deposit_zero_reverts', async () => {
    await expectRevert(sender(CLIENT).write({ ...s(), functionName: 'deposit', args: [0n] }), 'ZeroAmount')
  })

  it('test_withdraw_withoutRequest_or_beforeDelay_reverts_afterDelay_succeeds', async () => {
    await sender(CLIENT).write({ ...s(), functionName: 'deposit', args: [10n * TOKEN] })
    await expectRevert(sender(CLIENT).write({ ...s(), functionName: 'withdraw', args: [] }), 'NoWithdrawalRequested')
    await sender(CLIENT).write({ ...s(), functionName: 'requestWithdrawal', args: [4n * TOKEN] })
    expect(await read().availableEscrow([sender(CLIENT).address])).toBe(6n * TOKEN)
    await expectRevert(sender(CLIENT).write({ ...s(), functionName: 'withdraw', args: [] }), 'WithdrawalNotReady')
    await f.chain.increaseTime(401)
    const before = await balance(sender(CLIENT).address)
    await sender(CLIENT).write({ ...s(), functionName: 'withdraw', args: [] })
    expect(await balance(sender(CLIENT).address)).toBe(before + 4n * TOKEN)
    expect(await read().escrowOf([sender(CLIENT).address])).toEqual({ balance: 6n * TOKEN, withdrawalAmount: 0n, withdrawalReadyAt: 0n })
  })

  it('test_withdraw_cappedByRedemptionsDuringTheDelay_succeeds', async () => {
    await setup()
    await sender(CLIENT).write({ ...s(), functionName: 'requestWithdrawal', args: [100n * TOKEN] })
    const vs = await vouchers(4)
    const batch = await settled(vs)
    await redeem(vs[3]!, batch, 3)
    await f.chain.increaseTime(300)
    const before = await balance(sender(CLIENT).address)
    await sender(CLIENT).write({ ...s(), functionName: 'withdraw', args: [] })
    expect(await balance(sender(CLIENT).address)).toBe(before + 100n * TOKEN - 4n * fee)
  })

  it('test_requestWithdrawal_zeroCancels_succeeds', async () => {
    await sender(CLIENT).write({ ...s(), functionName: 'deposit', args: [TOKEN] })
    await sender(CLIENT).write({ ...s(), functionName: 'requestWithdrawal', args: [TOKEN] })
    await sender(CLIENT).write({ ...s(), functionName: 'requestWithdrawal', args: [0n] })
    expect(await read().escrowOf([sender(CLIENT).address])).toMatchObject({ withdrawalAmount: 0n, withdrawalReadyAt: 0n })
  })
})

describe('Settlement: commitBatch', () => {
  it('test_commitBatch_stakedNode_movesNoMoney_succeeds', async () => {
    await setup()
    const held = await balance(f.book.contracts.settlement)
    const { tree, feeTotal, batchId, result } = await commit((await vouchers(5)).map((v) => v.receipt))
    expect(events(result, 'BatchCommitted')[0]).toMatchObject({ batchId, root: tree.root, count: 5, feeTotal, sequence: 1 })
    expect(await read().getBatch([batchId])).toMatchObject({
      root: tree.root,
      node: sender(NODE).address,
      feeTotal,
      count: 5,
      status: BatchStatus.committed,
      openChallenges: 0,
      attesters: 0,
    })
    expect(await read().exposureOf([sender(NODE).address])).toEqual({ commits: 1, openReceipts: 5 })
    expect((await read().escrowOf([sender(CLIENT).address])).balance).toBe(100n * TOKEN)
    expect(await balance(f.book.contracts.settlement)).toBe(held)
    expect(await read().claimable([sender(NODE).address])).toBe(0n)
  })

  it('test_commitBatch_unstakedCommitter_reverts', async () => {
    await setup()
    await expectRevert(
      sender(OTHER).write({ ...s(), functionName: 'commitBatch', args: [keccak256('0x01'), 2, 0n, 1, ''] }),
      'NotActiveNode',
      [sender(OTHER).address],
    )
  })

  it('test_commitBatch_zeroCountOrRoot_reverts', async () => {
    await setup()
    await expectRevert(sender(NODE).write({ ...s(), functionName: 'commitBatch', args: [keccak256('0x01'), 0, 0n, 1, ''] }), 'EmptyBatch')
    await expectRevert(
      sender(NODE).write({ ...s(), functionName: 'commitBatch', args: [`0x${'00'.repeat(32)}`, 1, 0n, 1, ''] }),
      'ZeroRoot',
    )
  })

  it('test_commitBatch_wrongSequence_reverts', async () => {
    await setup()
    const root = keccak256('0x02')
    await expectRevert(
      sender(NODE).write({ ...s(), functionName: 'commitBatch', args: [root, 1, 0n, 0, ''] }),
      'WrongCommitSequence',
      [1, 0],
    )
    await expectRevert(
      sender(NODE).write({ ...s(), functionName: 'commitBatch', args: [root, 1, 0n, 2, ''] }),
      'WrongCommitSequence',
      [1, 2],
    )
    await sender(NODE).write({ ...s(), functionName: 'commitBatch', args: [root, 1, 0n, 1, ''] })
    await expectRevert(
      sender(NODE).write({ ...s(), functionName: 'commitBatch', args: [root, 1, 0n, 1, ''] }),
      'WrongCommitSequence',
      [2, 1],
    )
    await sender(NODE).write({ ...s(), functionName: 'commitBatch', args: [root, 1, 0n, 2, ''] })
    expect((await read().exposureOf([sender(NODE).address])).commits).toBe(2)
  })

  it('test_commitBatch_exposureAboveStake_reverts_releasedAtFinalize_succeeds', async () => {
    await setup()
    const receipts = forgedReceipts(60, { node: sender(NODE).address, client: sender(CLIENT).address, fee })
    const first = await commit(receipts)
    // 1,000 tokens of stake back 100 receipts of 10 tokens each.
    await expectRevert(commit(receipts.slice(0, 41)), 'ExposureAboveStake', [101n, SLASH, 1000n * TOKEN])
    await commit(receipts.slice(0, 40))
    expect((await read().exposureOf([sender(NODE).address])).openReceipts).toBe(100)
    await expectRevert(commit(receipts.slice(0, 1)), 'ExposureAboveStake', [101n, SLASH, 1000n * TOKEN])
    // More stake, more room.
    await sender(NODE).write({
      address: f.book.contracts.nodeRegistry,
      abi: f.contracts.nodeRegistry.abi,
      functionName: 'stake',
      args: [Role.inference, SLASH],
    })
    await commit(receipts.slice(0, 1))
    await finalizeAfterWindow(first.batchId)
    expect(await read().exposureOf([sender(NODE).address])).toEqual({ commits: 3, openReceipts: 41 })
    await commit(receipts)
  })

  it('test_multicall_commitAndFinalize_succeeds', async () => {
    await setup()
    const first = await commit((await vouchers(2)).map((v) => v.receipt))
    await f.chain.increaseTime(WINDOW + 1)
    const next = treeOf(
      f,
      (await vouchers(3, sender(NODE).address, 2)).map((v) => v.receipt),
    )
    const calls = [
      encodeFunctionData({
        abi: s().abi,
        functionName: 'commitBatch',
        args: [next.tree.root, 3, next.feeTotal, 2, ''],
      }),
      encodeFunctionData({ abi: s().abi, functionName: 'finalize', args: [first.batchId, []] }),
    ]
    await sender(NODE).write({ ...s(), functionName: 'multicall', args: [calls] })
    expect((await read().getBatch([first.batchId])).status).toBe(BatchStatus.finalized)
    expect((await read().getBatch([first.batchId + 1n])).root).toBe(next.tree.root)
    expect(await read().exposureOf([sender(NODE).address])).toEqual({ commits: 2, openReceipts: 3 })
  })
})

describe('Settlement: attest and finalize', () => {
  it('test_attest_verifier_succeeds_and_twice_reverts', async () => {
    await setup()
    const { batchId } = await commit((await vouchers(4)).map((v) => v.receipt))
    // Every leaf is assigned to every verifier in this deployment (minSampleRateBps 10,000): a bitmap
    // that leaves one out is refused, naming it.
    await expectRevert(
      sender(2).write({ ...s(), functionName: 'attest', args: [batchId, [0b1011n], guessedTags([0b1011n])] }),
      'SelectionNotCovered',
      [batchId, sender(2).address, 2n],
    )
    const result = await sender(2).write({ ...s(), functionName: 'attest', args: [batchId, [0b1111n], guessedTags([0b1111n])] })
    expect(events(result, 'Attested')[0]).toMatchObject({ receipts: 4, bitmap: [0b1111n] })
    expect(await read().hasAttested([batchId, sender(2).address])).toBe(true)
    expect(await read().hasAttested([batchId, sender(3).address])).toBe(false)
    expect((await read().getBatch([batchId])).attesters).toBe(1)
    await expectRevert(sender(2).write({ ...s(), functionName: 'attest', args: [batchId, [1n], guessedTags([1n])] }), 'AlreadyAttested')
  })

  it('test_attest_nonVerifier_reverts', async () => {
    await setup()
    const { batchId } = await commit((await vouchers(4)).map((v) => v.receipt))
    await expectRevert(
      sender(OTHER).write({ ...s(), functionName: 'attest', args: [batchId, [1n], guessedTags([1n])] }),
      'NotActiveVerifier',
      [sender(OTHER).address],
    )
  })

  it('test_attest_badBitmapOrBatch_reverts', async () => {
    await setup()
    const { batchId } = await commit((await vouchers(4)).map((v) => v.receipt))
    await expectRevert(sender(2).write({ ...s(), functionName: 'attest', args: [99n, [1n], guessedTags([1n])] }), 'UnknownBatch')
    await expectRevert(
      sender(2).write({ ...s(), functionName: 'attest', args: [batchId, [1n, 1n], guessedTags([1n, 1n])] }),
      'BitmapLength',
      [1n, 2n],
    )
    await expectRevert(
      sender(2).write({ ...s(), functionName: 'attest', args: [batchId, [0b10000n], guessedTags([0b10000n])] }),
      'BitmapOutOfRange',
    )
    await expectRevert(sender(2).write({ ...s(), functionName: 'attest', args: [batchId, [0n], guessedTags([0n])] }), 'EmptyAttestation')
  })

  it('test_attest_afterWindow_reverts', async () => {
    await setup()
    const { batchId } = await commit((await vouchers(2)).map((v) => v.receipt))
    const { committedAt } = await read().getBatch([batchId])
    await f.chain.increaseTime(WINDOW)
    await expectRevert(
      sender(2).write({ ...s(), functionName: 'attest', args: [batchId, [1n], guessedTags([1n])] }),
      'ChallengeWindowClosed',
      [batchId, BigInt(committedAt) + BigInt(WINDOW)],
    )
  })

  it('test_finalize_duringWindow_reverts_afterWindow_paysAttestersFromPot_succeeds', async () => {
    await setup()
    // The node's first batch is redeemed: 10 % of what the client paid funds the verification pot.
    const paid = await vouchers(4)
    const first = await settled(paid)
    await redeem(paid[3]!, first, 3)
    const pot = (4n * fee * 1000n) / 10_000n
    expect(await read().verificationPot([1])).toBe(pot)

    const { batchId, feeTotal } = await commit((await vouchers(2, sender(NODE).address, 4)).map((v) => v.receipt))
    await sender(2).write({ ...s(), functionName: 'attest', args: [batchId, [0b11n], guessedTags([0b11n])] })
    await sender(3).write({ ...s(), functionName: 'attest', args: [batchId, [0b11n], guessedTags([0b11n])] })
    const attesters = sortAddresses([sender(2).address, sender(3).address])
    await expectRevert(sender(OTHER).write({ ...s(), functionName: 'finalize', args: [batchId, attesters] }), 'ChallengeWindowOpen')
    await f.chain.increaseTime(WINDOW + 1)
    await expectRevert(
      sender(OTHER).write({ ...s(), functionName: 'finalize', args: [batchId, [sender(2).address]] }),
      'AttestersMismatch',
      [2n, 1n],
    )
    await expectRevert(
      sender(OTHER).write({ ...s(), functionName: 'finalize', args: [batchId, [...attesters].reverse()] }),
      'AttestersNotSorted',
      [1n],
    )
    await expectRevert(
      sender(OTHER).write({ ...s(), functionName: 'finalize', args: [batchId, sortAddresses([sender(2).address, sender(OTHER).address])] }),
      'NotAnAttester',
    )
    const result = await sender(OTHER).write({ ...s(), functionName: 'finalize', args: [batchId, attesters] })
    // Equal shares of 10 % of the batch's fees.
    const share = (feeTotal * 1000n) / 10_000n / 2n
    expect(events(result, 'BatchFinalized')[0]).toMatchObject({
      batchId,
      node: sender(NODE).address,
      nodeAmount: 0n,
      verifierAmount: 2n * share,
    })
    expect(await read().claimable([sender(2).address])).toBe(share)
    expect(await read().claimable([sender(3).address])).toBe(share)
    expect(await read().verificationPot([1])).toBe(pot - 2n * share)
    expect((await read().getBatch([batchId])).status).toBe(BatchStatus.finalized)
    expect(await read().exposureOf([sender(NODE).address])).toEqual({ commits: 2, openReceipts: 0 })
    await expectRevert(sender(OTHER).write({ ...s(), functionName: 'finalize', args: [batchId, attesters] }), 'BatchAlreadyFinalized')
    await expectRevert(
      sender(2).write({ ...s(), functionName: 'attest', args: [batchId, [1n], guessedTags([1n])] }),
      'BatchAlreadyFinalized',
    )
  })

  it('test_finalize_potShort_paysWhatThePotHolds_succeeds', async () => {
    await setup()
    const paid = await vouchers(1)
    const first = await settled(paid)
    await redeem(paid[0]!, first, 0)
    const pot = (fee * 1000n) / 10_000n
    const { batchId } = await commit(forgedReceipts(50, { node: sender(NODE).address, client: sender(CLIENT).address, fee }))
    await sender(2).write({ ...s(), functionName: 'attest', args: [batchId, [(1n << 50n) - 1n], guessedTags([(1n << 50n) - 1n])] })
    await sender(3).write({ ...s(), functionName: 'attest', args: [batchId, [(1n << 50n) - 1n], guessedTags([(1n << 50n) - 1n])] })
    await finalizeAfterWindow(batchId, [sender(2).address, sender(3).address])
    expect(await read().claimable([sender(2).address])).toBe(pot / 2n)
    expect(await read().claimable([sender(3).address])).toBe(pot / 2n)
    expect(await read().verificationPot([1])).toBe(pot - 2n * (pot / 2n))
  })

  it('test_finalize_noAttestations_paysNobody_burnsTheVerifierShare_succeeds_unknown_reverts', async () => {
    await setup()
    // The pot holds the verifiers' share of a paid batch; a batch nobody attests pays it to no one: burned.
    const paid = await vouchers(1)
    await redeem(paid[0]!, await settled(paid), 0)
    const pot = (fee * 1000n) / 10_000n
    expect(await read().verificationPot([1])).toBe(pot)
    const earned = await read().claimable([sender(NODE).address])
    const burned = await balance(BURN)
    const { batchId } = await commit((await vouchers(2, sender(NODE).address, 1)).map((v) => v.receipt))
    const result = await finalizeAfterWindow(batchId)
    expect(events(result, 'VerifierShareBurned')[0]).toEqual({ batchId, amount: pot })
    expect(await read().verificationPot([1])).toBe(0n)
    expect(await balance(BURN)).toBe(burned + pot)
    expect(await read().claimable([sender(NODE).address])).toBe(earned)
    expect((await read().escrowOf([sender(CLIENT).address])).balance).toBe(100n * TOKEN - fee)
    await expectRevert(sender(OTHER).write({ ...s(), functionName: 'finalize', args: [77n, []] }), 'UnknownBatch')
  })
})

describe('Settlement: redeem', () => {
  it('test_redeem_latestVoucher_paysNodeAndPot_succeeds_replay_reverts', async () => {
    await setup()
    const vs = await vouchers(3)
    const batch = await settled(vs)
    const result = await redeem(vs[2]!, batch, 2)
    const owed = 3n * fee
    const toVerifiers = (owed * 1000n) / 10_000n
    expect(events(result, 'Redeemed')[0]).toEqual({
      client: sender(CLIENT).address,
      node: sender(NODE).address,
      channelTotal: owed,
      debited: owed,
      shortfall: 0n,
      toVerifiers,
    })
    expect((await read().escrowOf([sender(CLIENT).address])).balance).toBe(100n * TOKEN - owed)
    expect(await read().channelPaid([sender(CLIENT).address, sender(NODE).address])).toBe(owed)
    expect(await read().claimable([sender(NODE).address])).toBe(owed - toVerifiers)
    expect(await read().verificationPot([1])).toBe(toVerifiers)
    // Every earlier voucher, and the same one again, is already spent.
    await expectRevert(redeem(vs[2]!, batch, 2), 'ChannelNotAhead', [owed, owed])
    await expectRevert(redeem(vs[1]!, batch, 1), 'ChannelNotAhead', [2n * fee, owed])
    // A later voucher pays only the increase.
    const later = await vouchers(1, sender(NODE).address, 3)
    const next = await settled(later)
    const second = await redeem(later[0]!, next, 0)
    expect(events(second, 'Redeemed')[0]).toMatchObject({ channelTotal: 4n * fee, debited: fee })
    expect((await read().escrowOf([sender(CLIENT).address])).balance).toBe(100n * TOKEN - 4n * fee)
  })

  it('test_redeem_wrongSigner_reverts', async () => {
    await setup()
    const vs = await vouchers(1)
    const batch = await settled(vs)
    // The same request signed by someone else recovers another client, whose receipt is not committed.
    const forged = await signVoucher(f, { signer: sender(OTHER), node: sender(NODE).address, seed: 0, channelTotal: fee, fee })
    await expectRevert(
      sender(NODE).write({
        ...s(),
        functionName: 'redeem',
        args: [vs[0]!.request, forged.signature, redemptionOf(vs[0]!.receipt, batch.batchId, 0, batch.tree.proof(0))],
      }),
      'InvalidInclusionProof',
      [batch.batchId, 0n],
    )
    await expectRevert(
      sender(NODE).write({
        ...s(),
        functionName: 'redeem',
        args: [vs[0]!.request, '0x1234', redemptionOf(vs[0]!.receipt, batch.batchId, 0, batch.tree.proof(0))],
      }),
      'ECDSAInvalidSignatureLength',
    )
    // A request changed after signing (a higher total) no longer hashes to what was committed.
    await expectRevert(
      sender(NODE).write({
        ...s(),
        functionName: 'redeem',
        args: [
          { ...vs[0]!.request, channelTotal: 50n * TOKEN },
          vs[0]!.signature,
          redemptionOf(vs[0]!.receipt, batch.batchId, 0, batch.tree.proof(0)),
        ],
      }),
      'InvalidInclusionProof',
    )
    expect((await read().escrowOf([sender(CLIENT).address])).balance).toBe(100n * TOKEN)
  })

  it('test_redeem_batchNotFinal_reverts', async () => {
    await setup()
    const vs = await vouchers(2)
    const batch = await commit(vs.map((v) => v.receipt))
    await expectRevert(redeem(vs[1]!, batch, 1), 'BatchNotFinal', [batch.batchId])
    await challengeData(batch, 0)
    await f.chain.increaseTime(WINDOW + 1)
    await expectRevert(redeem(vs[1]!, batch, 1), 'BatchNotFinal', [batch.batchId])
    await expectRevert(redeem(vs[1]!, { ...batch, batchId: 42n }, 1), 'BatchNotFinal', [42n])
  })

  it('test_redeem_overturnedReceipt_reverts', async () => {
    await setup()
    const vs = await vouchers(2)
    const batch = await commit(vs.map((v) => v.receipt))
    await challengeData(batch, 1)
    await f.chain.increaseTime(RESPONSE)
    await sender(OTHER).write({ ...s(), functionName: 'expireChallenge', args: [1n] })
    await finalizeAfterWindow(batch.batchId)
    await expectRevert(redeem(vs[1]!, batch, 1), 'ReceiptOverturnedAlready', [batch.batchId, 1])
    // The receipt that stood is still paid (its own voucher's total).
    await redeem(vs[0]!, batch, 0)
    expect(await read().channelPaid([sender(CLIENT).address, sender(NODE).address])).toBe(fee)
  })

  it('test_redeem_wrongNode_reverts', async () => {
    await setup()
    await registerOperator(f, sender(HOSTILE), 'inference')
    const vs = await vouchers(1)
    const batch = await settled(vs)
    // Another node presents the voucher: it names NODE.
    await expectRevert(redeem(vs[0]!, batch, 0, sender(HOSTILE)), 'WrongNode', [sender(NODE).address, sender(HOSTILE).address])
    // A voucher for HOSTILE redeemed against NODE's batch.
    const own = await signVoucher(f, { signer: sender(CLIENT), node: sender(HOSTILE).address, seed: 9, channelTotal: fee, fee })
    await expectRevert(
      sender(HOSTILE).write({
        ...s(),
        functionName: 'redeem',
        args: [own.request, own.signature, redemptionOf(own.receipt, batch.batchId, 0, batch.tree.proof(0))],
      }),
      'WrongNode',
      [sender(NODE).address, sender(HOSTILE).address],
    )
  })

  it('test_redeem_feeAboveMax_reverts', async () => {
    await setup()
    const v = await signVoucher(f, {
      signer: sender(CLIENT),
      node: sender(NODE).address,
      seed: 1,
      channelTotal: 2n * fee,
      fee: 2n * fee,
      maxFee: fee,
    })
    const batch = await settled([v])
    await expectRevert(redeem(v, batch, 0), 'FeeAboveMax', [2n * fee, fee])
  })

  it('test_redeem_wrongIndexOrProof_reverts', async () => {
    await setup()
    const vs = await vouchers(3)
    const batch = await settled(vs)
    await expectRevert(
      sender(NODE).write({
        ...s(),
        functionName: 'redeem',
        args: [vs[2]!.request, vs[2]!.signature, redemptionOf(vs[2]!.receipt, batch.batchId, 1, batch.tree.proof(2))],
      }),
      'InvalidInclusionProof',
      [batch.batchId, 1n],
    )
    await expectRevert(
      sender(NODE).write({
        ...s(),
        functionName: 'redeem',
        args: [vs[2]!.request, vs[2]!.signature, { ...redemptionOf(vs[2]!.receipt, batch.batchId, 2, batch.tree.proof(2)), fee: fee - 1n }],
      }),
      'InvalidInclusionProof',
    )
  })

  it('test_redeem_escrowShortfall_cappedByBalance_succeeds', async () => {
    await setup()
    const big = 150n * TOKEN
    const v = await signVoucher(f, { signer: sender(CLIENT), node: sender(NODE).address, seed: 1, channelTotal: big, fee: big })
    const batch = await settled([v])
    const result = await redeem(v, batch, 0)
    expect(events(result, 'Redeemed')[0]).toMatchObject({ channelTotal: big, debited: 100n * TOKEN, shortfall: 50n * TOKEN })
    expect((await read().escrowOf([sender(CLIENT).address])).balance).toBe(0n)
    expect(await read().claimable([sender(NODE).address])).toBe(90n * TOKEN)
    // The channel moved to the voucher's total: a later deposit is not debited for the same voucher.
    await sender(CLIENT).write({ ...s(), functionName: 'deposit', args: [TOKEN] })
    await expectRevert(redeem(v, batch, 0), 'ChannelNotAhead', [big, big])
    expect((await read().escrowOf([sender(CLIENT).address])).balance).toBe(TOKEN)
  })

  it('test_claim_succeeds_and_nothing_reverts', async () => {
    await setup()
    const vs = await vouchers(2)
    const batch = await settled(vs)
    await redeem(vs[1]!, batch, 1)
    const owed = 2n * fee - (2n * fee * 1000n) / 10_000n
    const before = await balance(sender(NODE).address)
    await sender(NODE).write({ ...s(), functionName: 'claim', args: [] })
    expect(await balance(sender(NODE).address)).toBe(before + owed)
    await expectRevert(sender(NODE).write({ ...s(), functionName: 'claim', args: [] }), 'NothingToClaim')
  })
})

describe('Settlement: execution challenges', () => {
  it('test_challenge_validProof_freezes_and_expireChallenge_unfreezes_succeeds', async () => {
    await setup()
    const batch = await commit((await vouchers(4)).map((v) => v.receipt))
    const { batchId, receipts, tree } = batch
    const before = await balance(sender(OTHER).address)
    const result = await sender(OTHER).write({ ...s(), functionName: 'challenge', args: [batchId, receipts[2]!, 2, tree.proof(2)] })
    expect(events(result, 'ChallengeOpened')[0]).toMatchObject({ receiptIndex: 2, bond: BOND })
    expect(await balance(sender(OTHER).address)).toBe(before - BOND)
    expect((await read().getBatch([batchId])).status).toBe(BatchStatus.challenged)
    expect(await read().getChallenge([1n])).toMatchObject({ status: ChallengeStatus.open, kind: 0, client: sender(CLIENT).address, fee })
    await f.chain.increaseTime(WINDOW + 1)
    await expectRevert(sender(OTHER).write({ ...s(), functionName: 'finalize', args: [batchId, []] }), 'BatchFrozen', [batchId, 1n])
    await expectRevert(sender(OTHER).write({ ...s(), functionName: 'expireChallenge', args: [1n] }), 'DisputeStillRunning')
    await f.chain.increaseTime(100)
    await sender(CLIENT).write({ ...s(), functionName: 'expireChallenge', args: [1n] })
    expect(await balance(sender(OTHER).address)).toBe(before)
    expect((await read().getChallenge([1n])).status).toBe(ChallengeStatus.expired)
    await expectRevert(sender(CLIENT).write({ ...s(), functionName: 'expireChallenge', args: [1n] }), 'ChallengeNotOpen')
    await expectRevert(sender(CLIENT).write({ ...s(), functionName: 'expireChallenge', args: [9n] }), 'UnknownChallenge')
    await sender(OTHER).write({ ...s(), functionName: 'finalize', args: [batchId, []] })
  })

  it('test_challenge_badProof_or_afterWindow_reverts', async () => {
    await setup()
    const { batchId, receipts, tree } = await commit((await vouchers(4)).map((v) => v.receipt))
    await expectRevert(
      sender(OTHER).write({ ...s(), functionName: 'challenge', args: [batchId, receipts[2]!, 1, tree.proof(2)] }),
      'InvalidInclusionProof',
    )
    await expectRevert(
      sender(OTHER).write({ ...s(), functionName: 'challenge', args: [batchId, { ...receipts[2]!, fee: 1n }, 2, tree.proof(2)] }),
      'InvalidInclusionProof',
    )
    await expectRevert(
      sender(OTHER).write({ ...s(), functionName: 'challenge', args: [5n, receipts[2]!, 2, tree.proof(2)] }),
      'UnknownBatch',
    )
    await f.chain.increaseTime(WINDOW)
    await expectRevert(
      sender(OTHER).write({ ...s(), functionName: 'challenge', args: [batchId, receipts[2]!, 2, tree.proof(2)] }),
      'ChallengeWindowClosed',
    )
  })

  it('test_resolveChallenge_notTheGame_and_bindDisputeGame_again_reverts', async () => {
    await setup()
    await expectRevert(sender(OTHER).write({ ...s(), functionName: 'resolveChallenge', args: [1n, 1] }), 'NotDisputeGame', [
      sender(OTHER).address,
    ])
    await expectRevert(sender(OTHER).write({ ...s(), functionName: 'bindDisputeGame', args: [sender(OTHER).address] }), 'NotDeployer', [
      sender(OTHER).address,
    ])
    await expectRevert(
      sender(0).write({ ...s(), functionName: 'bindDisputeGame', args: [sender(OTHER).address] }),
      'DisputeGameAlreadyBound',
      [getAddress(f.book.contracts.disputeGame)],
    )
  })
})

describe('Settlement: data challenges', () => {
  it('test_publishData_validBinding_paysBondToNode_succeeds', async () => {
    await setup()
    const vs = await vouchers(3)
    const batch = await commit(vs.map((v) => v.receipt))
    const opened = await challengeData(batch, 1)
    const [challenged] = events(opened, 'DataChallenged')
    const { openedAt } = await read().getChallenge([1n])
    expect(challenged).toEqual({ challengeId: 1n, batchId: batch.batchId, receiptIndex: 1, deadline: BigInt(openedAt) + BigInt(RESPONSE) })
    expect((await read().getBatch([batch.batchId])).status).toBe(BatchStatus.challenged)
    const v = vs[1]!
    const result = await sender(NODE).write({
      ...s(),
      functionName: 'publishData',
      args: [1n, v.receipt, v.request, v.signature, v.inputs],
    })
    expect(events(result, 'DataPublished')[0]).toEqual({
      challengeId: 1n,
      batchId: batch.batchId,
      requestHash: hashRequest(v.request, domainOf(f)),
      inputs: v.inputs,
    })
    // The node gets the data bond (its gas to publish), not the execution bond.
    expect(events(result, 'ChallengeRejected')[0]).toMatchObject({ node: sender(NODE).address, bond: DATA_BOND })
    expect((await read().getChallenge([1n])).status).toBe(ChallengeStatus.rejected)
    expect(await read().claimable([sender(NODE).address])).toBe(DATA_BOND)
    expect((await read().getBatch([batch.batchId])).status).toBe(BatchStatus.committed)
    expect(await read().isOverturned([batch.batchId, 1])).toBe(false)
    await expectRevert(
      sender(NODE).write({ ...s(), functionName: 'publishData', args: [1n, v.receipt, v.request, v.signature, v.inputs] }),
      'ChallengeNotOpen',
    )
  })

  it('test_publishData_wrongModelFeeSignatureOrInput_reverts', async () => {
    await setup()
    const node = sender(NODE).address
    const good = await signVoucher(f, { signer: sender(CLIENT), node, seed: 0, channelTotal: fee, fee })
    const wrongModel = await signVoucher(f, {
      signer: sender(CLIENT),
      node,
      seed: 1,
      channelTotal: 2n * fee,
      fee,
      receipt: { modelId: OTHER_MODEL },
    })
    const overMax = await signVoucher(f, { signer: sender(CLIENT), node, seed: 2, channelTotal: 3n * fee, fee: 2n * fee, maxFee: fee })
    const batch = await commit([good.receipt, wrongModel.receipt, overMax.receipt])
    for (const index of [0, 1, 2]) await challengeData(batch, index)
    const publish = (id: bigint, v: Voucher, over: Partial<{ signature: Hex; inputs: Hex[]; receipt: Receipt }> = {}) =>
      sender(NODE).write({
        ...s(),
        functionName: 'publishData',
        args: [id, over.receipt ?? v.receipt, v.request, over.signature ?? v.signature, over.inputs ?? v.inputs],
      })
    // The receipt names another model than the client signed for; or a fee above its maximum.
    await expectRevert(publish(2n, wrongModel), 'ReceiptMismatch', [2n])
    await expectRevert(publish(3n, overMax), 'ReceiptMismatch', [3n])
    // Another receipt than the one challenged; a signature of someone else; input bytes that are not the input.
    await expectRevert(publish(1n, good, { receipt: wrongModel.receipt }), 'ReceiptMismatch', [1n])
    const other = await signVoucher(f, { signer: sender(OTHER), node, seed: 0, channelTotal: fee, fee })
    await expectRevert(publish(1n, good, { signature: other.signature }), 'ReceiptMismatch', [1n])
    await expectRevert(publish(1n, good, { inputs: [inputOf(7).bytes] }), 'DataMismatch', [good.receipt.inputHash, expect.any(String)])
    await expectRevert(publish(1n, good, { inputs: [good.inputs[0]!, good.inputs[0]!] }), 'DataMismatch')
    // After the deadline nothing can be published.
    await f.chain.increaseTime(RESPONSE)
    await expectRevert(publish(1n, good), 'ResponseDeadlinePassed')
  })

  it('test_publishData_notADataChallenge_reverts', async () => {
    await setup()
    const vs = await vouchers(2)
    const batch = await commit(vs.map((v) => v.receipt))
    await sender(OTHER).write({ ...s(), functionName: 'challenge', args: [batch.batchId, batch.receipts[0]!, 0, batch.tree.proof(0)] })
    const v = vs[0]!
    await expectRevert(
      sender(NODE).write({ ...s(), functionName: 'publishData', args: [1n, v.receipt, v.request, v.signature, v.inputs] }),
      'NotDataChallenge',
      [1n],
    )
    await expectRevert(
      sender(NODE).write({ ...s(), functionName: 'publishData', args: [7n, v.receipt, v.request, v.signature, v.inputs] }),
      'NotDataChallenge',
      [7n],
    )
  })

  it('test_expireChallenge_dataDeadlinePassed_overturnsRefundsSlashes_succeeds', async () => {
    await setup()
    const vs = await vouchers(2)
    const batch = await commit(vs.map((v) => v.receipt))
    await challengeData(batch, 1)
    // A second challenger of the same receipt while the first is open.
    await sender(7).write({ ...s(), functionName: 'challengeData', args: [batch.batchId, batch.receipts[1]!, 1, batch.tree.proof(1)] })
    await expectRevert(sender(OTHER).write({ ...s(), functionName: 'expireChallenge', args: [1n] }), 'DisputeStillRunning')
    await f.chain.increaseTime(RESPONSE)
    const burned = await balance(BURN)
    const stake = await stakeOf(sender(NODE).address, Role.inference)
    const result = await sender(OTHER).write({ ...s(), functionName: 'expireChallenge', args: [1n] })
    const bounty = (SLASH * 5000n) / 10_000n
    // The client has not paid for this receipt yet: nothing to refund; the fee comes off its next redemption.
    expect(events(result, 'ReceiptOverturned')[0]).toEqual({
      challengeId: 1n,
      batchId: batch.batchId,
      receiptIndex: 1,
      client: sender(CLIENT).address,
      refund: 0n,
      slashed: SLASH,
      bounty,
    })
    expect(await stakeOf(sender(NODE).address, Role.inference)).toBe(stake - SLASH)
    expect((await read().escrowOf([sender(CLIENT).address])).balance).toBe(100n * TOKEN)
    expect(await read().channelCredit([sender(CLIENT).address, sender(NODE).address])).toBe(fee)
    expect(await read().claimable([sender(OTHER).address])).toBe(DATA_BOND + bounty)
    expect(await balance(BURN)).toBe(burned + SLASH - bounty)
    expect(await read().isOverturned([batch.batchId, 1])).toBe(true)
    expect((await read().getChallenge([1n])).status).toBe(ChallengeStatus.upheld)
    // The second challenge was right too: it gets its bond back, the node is not slashed twice.
    const second = await sender(OTHER).write({ ...s(), functionName: 'expireChallenge', args: [2n] })
    expect(events(second, 'ChallengeRedundant')[0]).toMatchObject({ challengeId: 2n, bond: DATA_BOND })
    expect(await read().claimable([sender(7).address])).toBe(DATA_BOND)
    expect(await stakeOf(sender(NODE).address, Role.inference)).toBe(stake - SLASH)
    // (An execution challenge: a data challenge this late in the window is refused as DataChallengeTooLate
    // once a wall-clock second has passed since the commit.)
    await expectRevert(
      sender(OTHER).write({ ...s(), functionName: 'challenge', args: [batch.batchId, batch.receipts[1]!, 1, batch.tree.proof(1)] }),
      'AlreadyOverturned',
      [batch.batchId, 1],
    )
    expect((await read().getBatch([batch.batchId])).status).toBe(BatchStatus.committed)
  })
})

describe('Settlement: late data challenges', () => {
  it('test_challengeDataOrAvailability_afterWindowMinusResponseTime_reverts', async () => {
    await setup()
    const vs = await vouchers(2)
    const batch = await commit(vs.map((v) => v.receipt))
    const { committedAt } = await read().getBatch([batch.batchId])
    const latest = BigInt(committedAt) + BigInt(WINDOW - RESPONSE)
    // One second past the latest start: the node's answer could land after the window.
    await f.chain.increaseTime(WINDOW - RESPONSE + 1)
    await expectRevert(challengeData(batch, 0), 'DataChallengeTooLate', [batch.batchId, latest])
    await expectRevert(
      sender(OTHER).write({ ...s(), functionName: 'challengeAvailability', args: [batch.batchId, 1] }),
      'DataChallengeTooLate',
      [batch.batchId, latest],
    )
    // An execution challenge is still open to the window's end.
    await sender(OTHER).write({ ...s(), functionName: 'challenge', args: [batch.batchId, batch.receipts[0]!, 0, batch.tree.proof(0)] })
  })
})

describe('Settlement: availability and inclusion challenges', () => {
  const nodeSignature = (receipt: Receipt, signer = sender(NODE)) =>
    signer.account.signTypedData!({ domain: verityDomain(domainOf(f)), types: eip712Types, primaryType: 'Receipt', message: receipt })
  const challengeAvailability = (batchId: bigint, index: number, by = sender(OTHER)) =>
    by.write({ ...s(), functionName: 'challengeAvailability', args: [batchId, index] })

  it('test_challengeAvailability_answeredByPublishReceipt_paysTheSmallBondOnly_succeeds', async () => {
    await setup()
    const vs = await vouchers(3)
    const batch = await commit(vs.map((v) => v.receipt))
    const before = await balance(sender(OTHER).address)
    const opened = await challengeAvailability(batch.batchId, 2)
    // The challenger locks the data bond, not the execution bond.
    expect(await balance(sender(OTHER).address)).toBe(before - DATA_BOND)
    expect(events(opened, 'ChallengeOpened')[0]).toMatchObject({ receiptIndex: 2, receiptDigest: `0x${'0'.repeat(64)}`, bond: DATA_BOND })
    expect(events(opened, 'DataChallenged')[0]).toMatchObject({ challengeId: 1n, batchId: batch.batchId, receiptIndex: 2 })
    await expectRevert(challengeAvailability(batch.batchId, 3), 'InvalidInclusionProof', [batch.batchId, 3n])
    const v = vs[2]!
    const publish = (receipt: Receipt, proof: Hex[]) =>
      sender(NODE).write({ ...s(), functionName: 'publishReceipt', args: [1n, receipt, proof, v.request, v.signature, v.inputs] })
    // Another leaf than the one at the position, or a bad proof, is refused.
    await expectRevert(publish(vs[1]!.receipt, batch.tree.proof(1)), 'InvalidInclusionProof', [batch.batchId, 2n])
    await expectRevert(publish(v.receipt, batch.tree.proof(1)), 'InvalidInclusionProof', [batch.batchId, 2n])
    const result = await publish(v.receipt, batch.tree.proof(2))
    expect(events(result, 'ReceiptPublished')[0]).toMatchObject({
      challengeId: 1n,
      batchId: batch.batchId,
      receiptIndex: 2,
      proof: batch.tree.proof(2),
    })
    expect(events(result, 'DataPublished')[0]).toMatchObject({ challengeId: 1n, inputs: v.inputs })
    expect(await read().claimable([sender(NODE).address])).toBe(DATA_BOND)
    const entry = await read().getChallenge([1n])
    expect(entry).toMatchObject({
      status: ChallengeStatus.rejected,
      receiptDigest: hashReceipt(v.receipt, domainOf(f)),
      client: sender(CLIENT).address,
    })
    expect((await read().getBatch([batch.batchId])).status).toBe(BatchStatus.committed)
    await expectRevert(publish(v.receipt, batch.tree.proof(2)), 'ChallengeNotOpen', [1n])
    // publishData does not answer an availability challenge (it proves no position).
    await challengeAvailability(batch.batchId, 0)
    await expectRevert(
      sender(NODE).write({
        ...s(),
        functionName: 'publishData',
        args: [2n, vs[0]!.receipt, vs[0]!.request, vs[0]!.signature, vs[0]!.inputs],
      }),
      'NotDataChallenge',
      [2n],
    )
  })

  it('test_attack_wholeBatchWithheld_byAHostileNodeWithPlainViem_overturnedSlashed_clientRefundedByInclusion_succeeds', async () => {
    await setup()
    // The attacker: a node of its own key, committing with plain viem and never serving its batch.
    const key = f.chain.accounts[HOSTILE]!.privateKey
    const attacker = f.chain.walletClient(privateKeyToAccount(key))
    await registerOperator(f, sender(HOSTILE), 'inference')
    const hostile = sender(HOSTILE).address
    const vs = await vouchers(3, hostile)
    const paidBatch = vs.slice(0, 2).map((v) => v.receipt)
    const { tree: paidTree } = treeOf(f, paidBatch)
    const send = async (functionName: string, args: readonly unknown[]) => {
      const hash = await attacker.writeContract({ address: f.book.contracts.settlement, abi: s().abi, functionName, args } as never)
      return f.chain.publicClient.waitForTransactionReceipt({ hash })
    }
    await send('commitBatch', [paidTree.root, 2, 2n * fee, 1, 'http://hostile/404'])
    const paidId = await read().batchCount()
    await f.chain.increaseTime(WINDOW + 1)
    await send('finalize', [paidId, []])
    // The client pays for two receipts; the third lands in a batch whose data nobody can fetch.
    await send('redeem', [vs[1]!.request, vs[1]!.signature, redemptionOf(vs[1]!.receipt, paidId, 1, paidTree.proof(1))])
    const { tree } = treeOf(f, [vs[2]!.receipt])
    await send('commitBatch', [tree.root, 1, fee, 2, 'http://hostile/404'])
    const batchId = await read().batchCount()
    // A verifier names only the position: it needs nothing the node withholds.
    await challengeAvailability(batchId, 0)
    await f.chain.increaseTime(RESPONSE)
    const stake = await stakeOf(hostile, Role.inference)
    const expired = await sender(OTHER).write({ ...s(), functionName: 'expireChallenge', args: [1n] })
    const bounty = (SLASH * 5000n) / 10_000n
    expect(events(expired, 'ReceiptOverturned')[0]).toMatchObject({
      batchId,
      receiptIndex: 0,
      client: '0x0000000000000000000000000000000000000000',
      refund: 0n,
      slashed: SLASH,
      bounty,
    })
    expect(await stakeOf(hostile, Role.inference)).toBe(stake - SLASH)
    expect(await read().claimable([sender(OTHER).address])).toBe(DATA_BOND + bounty)
    // The client, holding the node-signed receipt, gets its fee back: the node (or anyone) proves the
    // receipt sits at an overturned leaf; not proving it in time would cost the node another slash.
    const signature = await nodeSignature(vs[2]!.receipt, sender(HOSTILE))
    await expectRevert(
      sender(OTHER).write({ ...s(), functionName: 'challengeInclusion', args: [vs[2]!.receipt, signature] }),
      'NotReceiptClient',
      [sender(CLIENT).address, sender(OTHER).address],
    )
    const escrow = (await read().escrowOf([sender(CLIENT).address])).balance
    const opened = await sender(CLIENT).write({ ...s(), functionName: 'challengeInclusion', args: [vs[2]!.receipt, signature] })
    expect(events(opened, 'InclusionChallenged')[0]).toMatchObject({ node: hostile, client: sender(CLIENT).address, fee })
    const proven = await sender(CLIENT).write({ ...s(), functionName: 'proveInclusion', args: [2n, batchId, 0, tree.proof(0)] })
    expect(events(proven, 'InclusionProven')[0]).toEqual({ challengeId: 2n, batchId, receiptIndex: 0, refund: fee })
    expect((await read().escrowOf([sender(CLIENT).address])).balance).toBe(escrow + fee)
    expect(await read().claimable([sender(CLIENT).address])).toBe(DATA_BOND)
    await expectRevert(
      sender(CLIENT).write({ ...s(), functionName: 'challengeInclusion', args: [vs[2]!.receipt, signature] }),
      'ReceiptSettledAlready',
    )
    // The overturned receipt can never be redeemed.
    expect(await read().isOverturned([batchId, 0])).toBe(true)
  })

  it('test_challengeInclusion_standingReceipt_bondToNode_unanswered_slashesAndRefunds_badSignature_reverts', async () => {
    await setup()
    const vs = await vouchers(3)
    const paid = await settled(vs.slice(0, 2))
    await redeem(vs[1]!, paid, 1)
    // A committed, standing receipt: proven, the bond pays the node's gas.
    const signature = await nodeSignature(vs[0]!.receipt)
    await sender(CLIENT).write({ ...s(), functionName: 'challengeInclusion', args: [vs[0]!.receipt, signature] })
    await expectRevert(
      sender(NODE).write({ ...s(), functionName: 'proveInclusion', args: [1n, paid.batchId, 1, paid.tree.proof(1)] }),
      'InvalidInclusionProof',
      [paid.batchId, 1n],
    )
    const earned = await read().claimable([sender(NODE).address])
    const proven = await sender(NODE).write({ ...s(), functionName: 'proveInclusion', args: [1n, paid.batchId, 0, paid.tree.proof(0)] })
    expect(events(proven, 'InclusionProven')[0]).toMatchObject({ refund: 0n })
    expect(await read().claimable([sender(NODE).address])).toBe(earned + DATA_BOND)
    // A receipt signed by someone else than the node it names.
    await expectRevert(
      sender(CLIENT).write({
        ...s(),
        functionName: 'challengeInclusion',
        args: [vs[2]!.receipt, await nodeSignature(vs[2]!.receipt, sender(OTHER))],
      }),
      'BadNodeSignature',
      [sender(OTHER).address, sender(NODE).address],
    )
    // A receipt the node signed and never committed: unanswered, the node is slashed and the client refunded.
    await sender(CLIENT).write({ ...s(), functionName: 'challengeInclusion', args: [vs[2]!.receipt, await nodeSignature(vs[2]!.receipt)] })
    // One open inclusion challenge per receipt: a client cannot pile them up to have one missed deadline slashed many times.
    // (Everything awaited before the write starts: its rejection must have a listener from the start.)
    const [digest2, signature2] = [await read().receiptDigest([vs[2]!.receipt]), await nodeSignature(vs[2]!.receipt)]
    await expectRevert(
      sender(CLIENT).write({ ...s(), functionName: 'challengeInclusion', args: [vs[2]!.receipt, signature2] }),
      'InclusionChallengeOpen',
      [digest2, 2n],
    )
    await expectRevert(sender(OTHER).write({ ...s(), functionName: 'expireChallenge', args: [2n] }), 'DisputeStillRunning')
    await f.chain.increaseTime(RESPONSE)
    await expectRevert(
      sender(NODE).write({ ...s(), functionName: 'proveInclusion', args: [2n, paid.batchId, 0, paid.tree.proof(0)] }),
      'ResponseDeadlinePassed',
    )
    const stake = await stakeOf(sender(NODE).address, Role.inference)
    const escrow = (await read().escrowOf([sender(CLIENT).address])).balance
    const expired = await sender(OTHER).write({ ...s(), functionName: 'expireChallenge', args: [2n] })
    const bounty = (SLASH * 5000n) / 10_000n
    expect(events(expired, 'InclusionExpired')[0]).toEqual({
      challengeId: 2n,
      node: sender(NODE).address,
      client: sender(CLIENT).address,
      refund: fee,
      slashed: SLASH,
      bounty,
    })
    expect(await stakeOf(sender(NODE).address, Role.inference)).toBe(stake - SLASH)
    expect((await read().escrowOf([sender(CLIENT).address])).balance).toBe(escrow + fee)
    expect(await read().claimable([sender(CLIENT).address])).toBe(DATA_BOND + bounty)
    // An inclusion challenge freezes no batch.
    expect((await read().getBatch([paid.batchId])).status).toBe(BatchStatus.finalized)
  })
})

describe('Settlement: refunds', () => {
  it('test_overturn_refundsWhatTheClientPaid_fromTheNodesEarnings_and_creditsTheRest_succeeds', async () => {
    await setup()
    const vs = await vouchers(4)
    const paid = await settled(vs.slice(0, 2))
    await redeem(vs[1]!, paid, 1)
    const escrow = (await read().escrowOf([sender(CLIENT).address])).balance
    const earned = await read().claimable([sender(NODE).address])
    const stake = await stakeOf(sender(NODE).address, Role.inference)
    // Receipt 2 is overturned while the client has paid 2 fees on the channel: its fee comes back at
    // once, out of the node's earnings (on top of the slash).
    const batch = await commit(vs.slice(2).map((v) => v.receipt))
    await challengeData(batch, 0)
    await f.chain.increaseTime(RESPONSE)
    const result = await sender(OTHER).write({ ...s(), functionName: 'expireChallenge', args: [1n] })
    expect(events(result, 'ReceiptOverturned')[0]).toMatchObject({ refund: fee, slashed: SLASH })
    expect((await read().escrowOf([sender(CLIENT).address])).balance).toBe(escrow + fee)
    expect(await read().claimable([sender(NODE).address])).toBe(earned - fee)
    expect(await stakeOf(sender(NODE).address, Role.inference)).toBe(stake - SLASH)
    // Voucher 3 covers receipts 2 and 3: redeeming it charges both, the refund made receipt 2 free.
    await finalizeAfterWindow(batch.batchId)
    await redeem(vs[3]!, batch, 1)
    expect((await read().escrowOf([sender(CLIENT).address])).balance).toBe(escrow + fee - 2n * fee)
  })

  it('test_overturn_ofAReceiptNamingAClientThatPaidNothing_refundsNothing_succeeds', async () => {
    await setup()
    // A node names its own second account as the client, at a fee as large as the slash: overturning
    // it must still cost the node the whole slash.
    const puppet = await signVoucher(f, { signer: sender(HOSTILE), node: sender(NODE).address, seed: 9, channelTotal: SLASH, fee: SLASH })
    const stake = await stakeOf(sender(NODE).address, Role.inference)
    const batch = await commit([puppet.receipt])
    await challengeData(batch, 0)
    await f.chain.increaseTime(RESPONSE)
    const result = await sender(OTHER).write({ ...s(), functionName: 'expireChallenge', args: [1n] })
    expect(events(result, 'ReceiptOverturned')[0]).toMatchObject({ refund: 0n, slashed: SLASH })
    expect((await read().escrowOf([sender(HOSTILE).address])).balance).toBe(0n)
    expect(await stakeOf(sender(NODE).address, Role.inference)).toBe(stake - SLASH)
  })
})

describe('Settlement: slashAttester', () => {
  it('test_slashAttester_afterOverturn_succeeds_twice_and_notOverturnedOrNotAttested_reverts', async () => {
    await setup()
    // A redeemed batch first, so the node's verification pot holds 10 % of 4·fee.
    const paid = await vouchers(1, sender(NODE).address, 3)
    await redeem(paid[0]!, await settled(paid), 0)
    const vs = await vouchers(3)
    const batch = await commit(vs.map((v) => v.receipt))
    // Both attest every receipt (all are assigned to both in this deployment).
    await sender(2).write({ ...s(), functionName: 'attest', args: [batch.batchId, [0b111n], guessedTags([0b111n])] })
    await sender(3).write({ ...s(), functionName: 'attest', args: [batch.batchId, [0b111n], guessedTags([0b111n])] })
    const slash = (index: number, verifier: number, bitmap: bigint[]) =>
      sender(OTHER).write({
        ...s(),
        functionName: 'slashAttester',
        args: [batch.batchId, index, sender(verifier).address, bitmap, guessedTags(bitmap)],
      })
    await expectRevert(slash(1, 2, [0b111n]), 'NotOverturned', [batch.batchId, 1])
    await challengeData(batch, 1)
    await f.chain.increaseTime(RESPONSE)
    await sender(OTHER).write({ ...s(), functionName: 'expireChallenge', args: [1n] })
    const claimable = await read().claimable([sender(OTHER).address])
    // Not the bitmap verifier 3 attested (one without receipt 1); not verifier 2's; OTHER attested nothing.
    await expectRevert(slash(1, 3, [0b101n]), 'NotAttested', [batch.batchId, sender(3).address, 1])
    await expectRevert(slash(1, 2, [0b011n]), 'NotAttested')
    await expectRevert(slash(1, OTHER, [0b111n]), 'NotAttested')
    const burned = await balance(BURN)
    const stake = await stakeOf(sender(2).address, Role.verifier)
    const result = await slash(1, 2, [0b111n])
    expect(events(result, 'AttesterSlashed')[0]).toEqual({
      batchId: batch.batchId,
      verifier: sender(2).address,
      receiptIndex: 1,
      slashed: 20n * TOKEN,
      by: sender(OTHER).address,
    })
    expect(await stakeOf(sender(2).address, Role.verifier)).toBe(stake - 20n * TOKEN)
    expect(await read().claimable([sender(OTHER).address])).toBe(claimable + 10n * TOKEN)
    expect(await balance(BURN)).toBe(burned + 10n * TOKEN)
    await expectRevert(slash(1, 2, [0b111n]), 'NotAttested')
    // At finalize the slashed attester is still listed but paid nothing; the other gets its equal share.
    await f.chain.increaseTime(WINDOW)
    const pot = await read().verificationPot([1])
    await sender(OTHER).write({
      ...s(),
      functionName: 'finalize',
      args: [batch.batchId, sortAddresses([sender(2).address, sender(3).address])],
    })
    const share = (3n * fee * 1000n) / 10_000n / 2n
    expect(await read().claimable([sender(2).address])).toBe(0n)
    expect(await read().claimable([sender(3).address])).toBe(share)
    expect(await read().verificationPot([1])).toBe(pot - share)
  })
})

describe('Settlement: views', () => {
  it('test_verifyReceipt_and_digests_succeeds', async () => {
    await setup()
    const vs = await vouchers(3)
    const { batchId, receipts, tree } = await commit(vs.map((v) => v.receipt))
    expect(await read().verifyReceipt([batchId, receipts[1]!, 1, tree.proof(1)])).toBe(true)
    expect(await read().verifyReceipt([batchId, receipts[1]!, 0, tree.proof(1)])).toBe(false)
    expect(await read().verifyReceipt([9n, receipts[1]!, 1, tree.proof(1)])).toBe(false)
    expect(await read().receiptDigest([receipts[0]!])).toBe(hashReceipt(receipts[0]!, domainOf(f)))
    expect(receipts[0]!.requestHash).toBe(hashRequest(vs[0]!.request, domainOf(f)))
    expect(await read().version()).toBe('5.0.0')
    expect(await f.contracts.nodeRegistry.read.isActive([sender(NODE).address, Role.inference])).toBe(true)
  })

  it('test_challengesModule_calledDirectly_reverts_and_runsOnlyThroughSettlement_succeeds', async () => {
    await setup()
    const module = await read().challengesModule()
    // The module shares Settlement's parameters but runs only on Settlement's storage.
    expect(await f.chain.publicClient.readContract({ address: module, abi: s().abi, functionName: 'challengeWindow' })).toBe(
      await read().challengeWindow(),
    )
    const vs = await vouchers(1)
    const batch = await commit(vs.map((v) => v.receipt))
    await expectRevert(
      sender(OTHER).write({
        address: module,
        abi: s().abi,
        functionName: 'challengeData',
        args: [batch.batchId, batch.receipts[0]!, 0, batch.tree.proof(0)],
      }),
      'NotDelegated',
      [getAddress(f.book.contracts.settlement)],
    )
    // Through Settlement the same call opens the challenge, and its revert data passes back typed.
    await challengeData(batch, 0)
    await expectRevert(sender(OTHER).write({ ...s(), functionName: 'expireChallenge', args: [9n] }), 'UnknownChallenge', [9n])
  })
})

/**
 * The attacks of issue 12, each run as the attacker would: a registered node (HOSTILE or NODE) with
 * its own key and plain contract calls. None moves a client's money; each cheat is overturned.
 */
describe('Settlement: attacks by a hostile node', () => {
  it('test_attack_escrowTheft_randomRootAndUnsignedRedeem_reverts', async () => {
    await setup()
    await registerOperator(f, sender(HOSTILE), 'inference')
    const victim = sender(CLIENT).address
    const held = await balance(f.book.contracts.settlement)
    // A random root with a 50-token fee total: no leaf exists, no money moves.
    const random = await sender(HOSTILE).write({
      ...s(),
      functionName: 'commitBatch',
      args: [keccak256(toHex('random')), 1, 50n * TOKEN, 1, 'http://nowhere'],
    })
    const randomId = events(random, 'BatchCommitted')[0]!.batchId as bigint
    // A receipt naming the victim as client, of a request the hostile node signed itself.
    const selfSigned = await signVoucher(f, {
      signer: sender(HOSTILE),
      node: sender(HOSTILE).address,
      seed: 1,
      channelTotal: 50n * TOKEN,
      fee: 50n * TOKEN,
      receipt: { client: victim },
    })
    const forged = await commit([selfSigned.receipt], sender(HOSTILE))
    await finalizeAfterWindow(forged.batchId)
    await sender(OTHER).write({ ...s(), functionName: 'finalize', args: [randomId, []] })
    expect((await read().escrowOf([victim])).balance).toBe(100n * TOKEN)
    expect(await balance(f.book.contracts.settlement)).toBe(held)

    const at = redemptionOf(selfSigned.receipt, forged.batchId, 0, forged.tree.proof(0))
    // Without the victim's signature: a garbage signature, or its own (which recovers itself, not the victim).
    await expectRevert(
      sender(HOSTILE).write({ ...s(), functionName: 'redeem', args: [selfSigned.request, `0x${'11'.repeat(65)}`, at] }),
      'ECDSAInvalidSignature',
    )
    await expectRevert(
      sender(HOSTILE).write({ ...s(), functionName: 'redeem', args: [selfSigned.request, selfSigned.signature, at] }),
      'InvalidInclusionProof',
    )
    await expectRevert(
      sender(HOSTILE).write({
        ...s(),
        functionName: 'redeem',
        args: [selfSigned.request, selfSigned.signature, { ...at, batchId: randomId, proof: [] }],
      }),
      'InvalidInclusionProof',
    )
    // A voucher the victim really signed, but for another node.
    const real = await signVoucher(f, { signer: sender(CLIENT), node: sender(NODE).address, seed: 2, channelTotal: fee, fee })
    await expectRevert(
      sender(HOSTILE).write({ ...s(), functionName: 'redeem', args: [real.request, real.signature, { ...at, fee }] }),
      'WrongNode',
      [sender(NODE).address, sender(HOSTILE).address],
    )
    expect((await read().escrowOf([victim])).balance).toBe(100n * TOKEN)
    expect(await read().claimable([sender(HOSTILE).address])).toBe(0n)
    expect(await read().channelPaid([victim, sender(HOSTILE).address])).toBe(0n)
    // And the forged receipt is overturned by a data challenge: the hostile node has no request the victim signed.
    const fresh = await commit([selfSigned.receipt], sender(HOSTILE))
    await challengeData(fresh, 0)
    await expectRevert(
      sender(HOSTILE).write({
        ...s(),
        functionName: 'publishData',
        args: [1n, selfSigned.receipt, selfSigned.request, selfSigned.signature, selfSigned.inputs],
      }),
      'ReceiptMismatch',
    )
    await f.chain.increaseTime(RESPONSE)
    await sender(OTHER).write({ ...s(), functionName: 'expireChallenge', args: [1n] })
    expect(await read().isOverturned([fresh.batchId, 0])).toBe(true)
    expect(await stakeOf(sender(HOSTILE).address, Role.inference)).toBe(1000n * TOKEN - SLASH)
  })

  it('test_attack_recommitOtherNodesReceipts_earnsNothing_overturned_succeeds', async () => {
    await setup()
    await registerOperator(f, sender(HOSTILE), 'inference')
    const vs = await vouchers(2)
    const honest = await settled(vs)
    await redeem(vs[1]!, honest, 1)
    const escrow = (await read().escrowOf([sender(CLIENT).address])).balance
    // The hostile node re-commits the honest node's receipts with ten times their fees.
    const replay = vs.map((v) => v.receipt)
    const { tree } = treeOf(f, replay)
    await sender(HOSTILE).write({ ...s(), functionName: 'commitBatch', args: [tree.root, 2, 20n * fee, 1, ''] })
    const replayed = { batchId: await read().batchCount(), tree, receipts: replay }
    // The honest node re-committing its own receipts earns nothing either: the channel paid already.
    const again = await commit(replay)
    await challengeData(replayed, 0)
    await expectRevert(
      sender(HOSTILE).write({
        ...s(),
        functionName: 'publishData',
        args: [1n, vs[0]!.receipt, vs[0]!.request, vs[0]!.signature, vs[0]!.inputs],
      }),
      'ReceiptMismatch',
      [1n],
    )
    await f.chain.increaseTime(RESPONSE)
    await sender(OTHER).write({ ...s(), functionName: 'expireChallenge', args: [1n] })
    expect(await read().isOverturned([replayed.batchId, 0])).toBe(true)
    expect(await stakeOf(sender(HOSTILE).address, Role.inference)).toBe(1000n * TOKEN - SLASH)
    await f.chain.increaseTime(WINDOW)
    await sender(OTHER).write({ ...s(), functionName: 'finalize', args: [replayed.batchId, []] })
    await sender(OTHER).write({ ...s(), functionName: 'finalize', args: [again.batchId, []] })
    await expectRevert(redeem(vs[1]!, replayed, 1, sender(HOSTILE)), 'WrongNode', [sender(NODE).address, sender(HOSTILE).address])
    await expectRevert(redeem(vs[1]!, again, 1), 'ChannelNotAhead', [2n * fee, 2n * fee])
    expect(await read().claimable([sender(HOSTILE).address])).toBe(0n)
    // The client lost nothing to the replays; it never paid the replayer, so nothing is refunded to it
    // (the replayer's penalty is its whole slash).
    expect((await read().escrowOf([sender(CLIENT).address])).balance).toBe(escrow)
  })

  it('test_attack_wrongModelReceipt_cannotBeRedeemed_overturned_succeeds', async () => {
    await setup()
    const swapped = await signVoucher(f, {
      signer: sender(CLIENT),
      node: sender(NODE).address,
      seed: 3,
      channelTotal: fee,
      fee,
      receipt: { modelId: OTHER_MODEL },
    })
    const batch = await commit([swapped.receipt])
    // The same receipt in a second batch that nobody challenges.
    const unchallenged = await commit([swapped.receipt])
    await challengeData(batch, 0)
    await expectRevert(
      sender(NODE).write({
        ...s(),
        functionName: 'publishData',
        args: [1n, swapped.receipt, swapped.request, swapped.signature, swapped.inputs],
      }),
      'ReceiptMismatch',
    )
    await f.chain.increaseTime(RESPONSE)
    await sender(OTHER).write({ ...s(), functionName: 'expireChallenge', args: [1n] })
    expect(await read().isOverturned([batch.batchId, 0])).toBe(true)
    await finalizeAfterWindow(batch.batchId)
    await sender(OTHER).write({ ...s(), functionName: 'finalize', args: [unchallenged.batchId, []] })
    await expectRevert(redeem(swapped, batch, 0), 'ReceiptOverturnedAlready')
    // Never overturned, it still cannot be redeemed: the leaf `redeem` proves follows from the signed request (model A).
    await expectRevert(redeem(swapped, unchallenged, 0), 'InvalidInclusionProof')
    // The client paid nothing for it: its fee is owed back against the channel's next redemptions.
    expect((await read().escrowOf([sender(CLIENT).address])).balance).toBe(100n * TOKEN)
    expect(await read().channelCredit([sender(CLIENT).address, sender(NODE).address])).toBe(fee)
    expect(await read().claimable([sender(NODE).address])).toBe(0n)
  })

  it('test_attack_stakeExhaustion_commitBeyondStake_reverts_everyOverturnSlashedInFull_succeeds', async () => {
    await setup()
    const cheats = forgedReceipts(100, { node: sender(NODE).address, client: sender(CLIENT).address, fee, tag: 'cheat' })
    const batch = await commit(cheats)
    await expectRevert(commit(cheats.slice(0, 1)), 'ExposureAboveStake', [101n, SLASH, 1000n * TOKEN])
    // Every one of the 100 receipts is challenged (one multicall) and none is answered.
    const calls = cheats.map((receipt, i) =>
      encodeFunctionData({ abi: s().abi, functionName: 'challengeData', args: [batch.batchId, receipt, i, batch.tree.proof(i)] }),
    )
    await sender(OTHER).write({ ...s(), functionName: 'multicall', args: [calls] })
    await f.chain.increaseTime(RESPONSE)
    const expire = cheats.map((_, i) => encodeFunctionData({ abi: s().abi, functionName: 'expireChallenge', args: [BigInt(i + 1)] }))
    const result = await sender(OTHER).write({ ...s(), functionName: 'multicall', args: [expire] })
    const overturned = events(result, 'ReceiptOverturned')
    expect(overturned).toHaveLength(100)
    expect(overturned.every((e) => e.slashed === SLASH && e.refund === 0n)).toBe(true)
    expect(await stakeOf(sender(NODE).address, Role.inference)).toBe(0n)
    // Nothing was paid for the forged receipts, so nothing is refunded: the fees are owed back on the channel.
    expect((await read().escrowOf([sender(CLIENT).address])).balance).toBe(100n * TOKEN)
    expect(await read().channelCredit([sender(CLIENT).address, sender(NODE).address])).toBe(100n * fee)
    // Slashed below the minimum, it commits nothing more.
    await expectRevert(commit(cheats.slice(0, 1)), 'NotActiveNode', [sender(NODE).address])
  })

  it('test_attack_crashDoubleCommit_sameSequence_reverts', async () => {
    await setup()
    const vs = await vouchers(2)
    const { tree, feeTotal } = treeOf(
      f,
      vs.map((v) => v.receipt),
    )
    const wallet = f.chain.walletClient(f.chain.accounts[NODE]!.privateKey)
    const nonce = await f.chain.publicClient.getTransactionCount({ address: sender(NODE).address })
    // Automine off: the commit is pending when the node "crashes"; on restart it re-sends the same
    // commit (same sequence number) with the next nonce. Both are mined in one block.
    await f.chain.publicClient.request({ method: 'evm_setAutomine', params: [false] } as never)
    const send = (n: number) =>
      wallet.writeContract({
        ...s(),
        functionName: 'commitBatch',
        args: [tree.root, 2, feeTotal, 1, ''],
        nonce: n,
        gas: 300_000n,
      })
    const hashes: Hex[] = []
    try {
      hashes.push(await send(nonce), await send(nonce + 1))
      await f.chain.mine()
    } finally {
      await f.chain.publicClient.request({ method: 'evm_setAutomine', params: [true] } as never)
    }
    const [first, second] = await Promise.all(hashes.map((hash) => f.chain.publicClient.getTransactionReceipt({ hash })))
    expect([first!.status, second!.status]).toEqual(['success', 'reverted'])
    expect(await read().batchCount()).toBe(1n)
    // Re-sent after the first was mined: refused by the contract with the sequence it expected.
    await expectRevert(
      sender(NODE).write({ ...s(), functionName: 'commitBatch', args: [tree.root, 2, feeTotal, 1, ''] }),
      'WrongCommitSequence',
      [2, 1],
    )
    // And a receipt in two batches of its node is paid once.
    const one = await settled(vs.map((v) => v.receipt))
    await finalizeAfterWindow(1n)
    await redeem(vs[1]!, { batchId: 1n, tree }, 1)
    await expectRevert(redeem(vs[1]!, one, 1), 'ChannelNotAhead')
    expect((await read().escrowOf([sender(CLIENT).address])).balance).toBe(100n * TOKEN - 2n * fee)
  })
})
