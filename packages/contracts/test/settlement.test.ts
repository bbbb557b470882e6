import { TxSender } from '@verity/chain'
import { type Address, encodeFunctionData, type Hex, keccak256, parseEventLogs, toHex } from 'viem'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { BatchStatus, buildReceiptTree, ChallengeStatus, hashReceipt, type Receipt, Role } from '../src/index.js'
import { deployFixture, expectRevert, type Fixture, registerOperator, TOKEN } from './fixture.js'

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
const NODE = 1
const VERIFIERS = [2, 3]
const CLIENT = 4
const OTHER = 5
const fee = 10n ** 16n

/** Node 1 and verifiers 2, 3 staked; client 4 with 100 tokens of escrow. */
async function setup() {
  await registerOperator(f, sender(NODE), 'inference')
  for (const v of VERIFIERS) await registerOperator(f, sender(v), 'verifier')
  await sender(CLIENT).write({ ...s(), functionName: 'deposit', args: [100n * TOKEN] })
}

function batch(count: number, client = sender(CLIENT).address) {
  const receipts: Receipt[] = Array.from({ length: count }, (_, i) => ({
    requestHash: keccak256(toHex(`request ${i}`)),
    modelId: keccak256(toHex('model')),
    inputHash: keccak256(toHex(`input ${i}`)),
    outputHash: keccak256(toHex(`output ${i}`)),
    node: sender(NODE).address,
    client,
    fee,
    issuedAt: 1n,
    mode: 1,
  }))
  const tree = buildReceiptTree(receipts.map((r) => hashReceipt(r, { chainId: f.chain.chainId, settlement: f.book.contracts.settlement })))
  return { receipts, tree, total: fee * BigInt(count) }
}

async function commit(count = 4) {
  const b = batch(count)
  await sender(NODE).write({
    ...s(),
    functionName: 'commitBatch',
    args: [b.tree.root, count, b.total, 'http://node/b', [{ client: sender(CLIENT).address, amount: b.total }]],
  })
  return { ...b, batchId: await read().batchCount() }
}

const sorted = (addresses: Address[]) => [...addresses].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))

describe('Settlement: escrow', () => {
  it('test_deposit_and_depositFor_succeeds', async () => {
    const result = await sender(CLIENT).write({ ...s(), functionName: 'deposit', args: [3n * TOKEN] })
    expect(parseEventLogs({ abi: s().abi, logs: result.receipt.logs, eventName: 'Deposited' })[0]!.args).toMatchObject({
      amount: 3n * TOKEN,
      balance: 3n * TOKEN,
    })
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
    await f.chain.increaseTime(51)
    const before = await balance(sender(CLIENT).address)
    await sender(CLIENT).write({ ...s(), functionName: 'withdraw', args: [] })
    expect(await balance(sender(CLIENT).address)).toBe(before + 4n * TOKEN)
    expect(await read().escrowOf([sender(CLIENT).address])).toEqual({ balance: 6n * TOKEN, withdrawalAmount: 0n, withdrawalReadyAt: 0n })
  })

  it('test_withdraw_cappedByDebitsDuringTheDelay_succeeds', async () => {
    await setup()
    await sender(CLIENT).write({ ...s(), functionName: 'requestWithdrawal', args: [100n * TOKEN] })
    const { total } = await commit(4)
    await f.chain.increaseTime(51)
    const before = await balance(sender(CLIENT).address)
    await sender(CLIENT).write({ ...s(), functionName: 'withdraw', args: [] })
    expect(await balance(sender(CLIENT).address)).toBe(before + 100n * TOKEN - total)
  })

  it('test_requestWithdrawal_zeroCancels_succeeds', async () => {
    await sender(CLIENT).write({ ...s(), functionName: 'deposit', args: [TOKEN] })
    await sender(CLIENT).write({ ...s(), functionName: 'requestWithdrawal', args: [TOKEN] })
    await sender(CLIENT).write({ ...s(), functionName: 'requestWithdrawal', args: [0n] })
    expect(await read().escrowOf([sender(CLIENT).address])).toMatchObject({ withdrawalAmount: 0n, withdrawalReadyAt: 0n })
  })
})

describe('Settlement: batches', () => {
  it('test_commitBatch_stakedNode_succeeds', async () => {
    await setup()
    const { tree, total, batchId } = await commit(5)
    expect(await read().getBatch([batchId])).toMatchObject({
      root: tree.root,
      node: sender(NODE).address,
      feeCollected: total,
      count: 5,
      status: BatchStatus.committed,
      openChallenges: 0,
      attestedTotal: 0,
    })
    expect((await read().escrowOf([sender(CLIENT).address])).balance).toBe(100n * TOKEN - total)
  })

  it('test_commitBatch_unstakedCommitter_reverts', async () => {
    await setup()
    const b = batch(2)
    await expectRevert(sender(OTHER).write({ ...s(), functionName: 'commitBatch', args: [b.tree.root, 2, 0n, '', []] }), 'NotActiveNode', [
      sender(OTHER).address,
    ])
  })

  it('test_commitBatch_zeroCountOrRoot_reverts', async () => {
    await setup()
    await expectRevert(sender(NODE).write({ ...s(), functionName: 'commitBatch', args: [keccak256('0x01'), 0, 0n, '', []] }), 'EmptyBatch')
    await expectRevert(
      sender(NODE).write({ ...s(), functionName: 'commitBatch', args: [`0x${'00'.repeat(32)}`, 1, 0n, '', []] }),
      'ZeroRoot',
    )
  })

  it('test_commitBatch_unsortedDebitsOrWrongTotal_reverts', async () => {
    await setup()
    const [a, b] = sorted([sender(CLIENT).address, sender(OTHER).address])
    const root = keccak256('0x02')
    await expectRevert(
      sender(NODE).write({
        ...s(),
        functionName: 'commitBatch',
        args: [
          root,
          2,
          2n,
          '',
          [
            { client: b!, amount: 1n },
            { client: a!, amount: 1n },
          ],
        ],
      }),
      'DebitsNotSorted',
      [1n],
    )
    await expectRevert(
      sender(NODE).write({
        ...s(),
        functionName: 'commitBatch',
        args: [
          root,
          2,
          2n,
          '',
          [
            { client: a!, amount: 1n },
            { client: a!, amount: 1n },
          ],
        ],
      }),
      'DebitsNotSorted',
    )
    await expectRevert(
      sender(NODE).write({ ...s(), functionName: 'commitBatch', args: [root, 2, 3n, '', [{ client: a!, amount: 1n }]] }),
      'FeeTotalMismatch',
      [3n, 1n],
    )
  })

  it('test_commitBatch_escrowShortfall_collectsWhatIsThere_succeeds', async () => {
    await setup()
    const result = await sender(NODE).write({
      ...s(),
      functionName: 'commitBatch',
      args: [keccak256('0x03'), 1, 150n * TOKEN, '', [{ client: sender(CLIENT).address, amount: 150n * TOKEN }]],
    })
    const [event] = parseEventLogs({ abi: s().abi, logs: result.receipt.logs, eventName: 'EscrowShortfall' })
    expect(event!.args).toMatchObject({ debited: 100n * TOKEN, missing: 50n * TOKEN })
    expect((await read().getBatch([1n])).feeCollected).toBe(100n * TOKEN)
  })

  it('test_attest_verifier_succeeds_and_twice_reverts', async () => {
    await setup()
    const { batchId } = await commit(4)
    const result = await sender(2).write({ ...s(), functionName: 'attest', args: [batchId, [0b1011n]] })
    expect(parseEventLogs({ abi: s().abi, logs: result.receipt.logs, eventName: 'Attested' })[0]!.args).toMatchObject({
      receipts: 3,
      bitmap: [0b1011n],
    })
    expect(await read().attestationOf([batchId, sender(2).address])).toBe(3n)
    expect((await read().getBatch([batchId])).attestedTotal).toBe(3)
    await expectRevert(sender(2).write({ ...s(), functionName: 'attest', args: [batchId, [1n]] }), 'AlreadyAttested')
  })

  it('test_attest_nonVerifier_reverts', async () => {
    await setup()
    const { batchId } = await commit(4)
    await expectRevert(sender(OTHER).write({ ...s(), functionName: 'attest', args: [batchId, [1n]] }), 'NotActiveVerifier', [
      sender(OTHER).address,
    ])
  })

  it('test_attest_badBitmapOrBatch_reverts', async () => {
    await setup()
    const { batchId } = await commit(4)
    await expectRevert(sender(2).write({ ...s(), functionName: 'attest', args: [99n, [1n]] }), 'UnknownBatch')
    await expectRevert(sender(2).write({ ...s(), functionName: 'attest', args: [batchId, [1n, 1n]] }), 'BitmapLength', [1n, 2n])
    await expectRevert(sender(2).write({ ...s(), functionName: 'attest', args: [batchId, [0b10000n]] }), 'BitmapOutOfRange')
    await expectRevert(sender(2).write({ ...s(), functionName: 'attest', args: [batchId, [0n]] }), 'EmptyAttestation')
  })

  it('test_finalize_duringWindow_reverts_afterWindow_paysProRata_succeeds', async () => {
    await setup()
    const { batchId, total } = await commit(4)
    await sender(2).write({ ...s(), functionName: 'attest', args: [batchId, [0b1111n]] })
    await sender(3).write({ ...s(), functionName: 'attest', args: [batchId, [0b0001n]] })
    const attesters = sorted([sender(2).address, sender(3).address])
    await expectRevert(sender(OTHER).write({ ...s(), functionName: 'finalize', args: [batchId, attesters] }), 'ChallengeWindowOpen')
    await f.chain.increaseTime(101)
    await expectRevert(
      sender(OTHER).write({ ...s(), functionName: 'finalize', args: [batchId, [sender(2).address]] }),
      'AttestersMismatch',
      [5n, 4n],
    )
    await expectRevert(
      sender(OTHER).write({ ...s(), functionName: 'finalize', args: [batchId, [...attesters].reverse()] }),
      'AttestersNotSorted',
      [1n],
    )
    await expectRevert(
      sender(OTHER).write({ ...s(), functionName: 'finalize', args: [batchId, sorted([sender(2).address, sender(OTHER).address])] }),
      'NotAnAttester',
    )
    await sender(OTHER).write({ ...s(), functionName: 'finalize', args: [batchId, attesters] })
    const pool = (total * 1000n) / 10_000n
    expect(await read().claimable([sender(2).address])).toBe((pool * 4n) / 5n)
    expect(await read().claimable([sender(3).address])).toBe((pool * 1n) / 5n)
    expect(await read().claimable([sender(NODE).address])).toBe(total - (pool * 4n) / 5n - (pool * 1n) / 5n)
    expect((await read().getBatch([batchId])).status).toBe(BatchStatus.finalized)
    expect(await read().attestationOf([batchId, sender(2).address])).toBe(0n)
    await expectRevert(sender(OTHER).write({ ...s(), functionName: 'finalize', args: [batchId, attesters] }), 'BatchAlreadyFinalized')
    await expectRevert(sender(2).write({ ...s(), functionName: 'attest', args: [batchId, [1n]] }), 'BatchAlreadyFinalized')
  })

  it('test_finalize_noAttestations_allToNode_succeeds', async () => {
    await setup()
    const { batchId, total } = await commit(2)
    await f.chain.increaseTime(101)
    await sender(OTHER).write({ ...s(), functionName: 'finalize', args: [batchId, []] })
    expect(await read().claimable([sender(NODE).address])).toBe(total)
    await expectRevert(sender(OTHER).write({ ...s(), functionName: 'finalize', args: [77n, []] }), 'UnknownBatch')
  })

  it('test_claim_succeeds_and_nothing_reverts', async () => {
    await setup()
    const { batchId, total } = await commit(2)
    await f.chain.increaseTime(101)
    await sender(OTHER).write({ ...s(), functionName: 'finalize', args: [batchId, []] })
    const before = await balance(sender(NODE).address)
    await sender(NODE).write({ ...s(), functionName: 'claim', args: [] })
    expect(await balance(sender(NODE).address)).toBe(before + total)
    await expectRevert(sender(NODE).write({ ...s(), functionName: 'claim', args: [] }), 'NothingToClaim')
  })

  it('test_multicall_commitAndFinalize_succeeds', async () => {
    await setup()
    const first = await commit(2)
    await f.chain.increaseTime(101)
    const next = batch(3)
    const calls = [
      encodeFunctionData({
        abi: s().abi,
        functionName: 'commitBatch',
        args: [next.tree.root, 3, next.total, '', [{ client: sender(CLIENT).address, amount: next.total }]],
      }),
      encodeFunctionData({ abi: s().abi, functionName: 'finalize', args: [first.batchId, []] }),
    ]
    await sender(NODE).write({ ...s(), functionName: 'multicall', args: [calls] })
    expect((await read().getBatch([first.batchId])).status).toBe(BatchStatus.finalized)
    expect((await read().getBatch([first.batchId + 1n])).root).toBe(next.tree.root)
  })
})

describe('Settlement: challenges', () => {
  it('test_challenge_validProof_freezes_and_expireChallenge_unfreezes_succeeds', async () => {
    await setup()
    const { batchId, receipts, tree } = await commit(4)
    const before = await balance(sender(OTHER).address)
    const result = await sender(OTHER).write({ ...s(), functionName: 'challenge', args: [batchId, receipts[2]!, 2, tree.proof(2)] })
    expect(parseEventLogs({ abi: s().abi, logs: result.receipt.logs, eventName: 'ChallengeOpened' })[0]!.args).toMatchObject({
      receiptIndex: 2,
      bond: 10n * TOKEN,
    })
    expect(await balance(sender(OTHER).address)).toBe(before - 10n * TOKEN)
    expect((await read().getBatch([batchId])).status).toBe(BatchStatus.challenged)
    expect((await read().getChallenge([1n])).status).toBe(ChallengeStatus.open)
    await f.chain.increaseTime(101)
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
    const { batchId, receipts, tree } = await commit(4)
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
    await f.chain.increaseTime(101)
    await expectRevert(
      sender(OTHER).write({ ...s(), functionName: 'challenge', args: [batchId, receipts[2]!, 2, tree.proof(2)] }),
      'ChallengeWindowClosed',
    )
  })

  it('test_verifyReceipt_and_digests_succeeds', async () => {
    await setup()
    const { batchId, receipts, tree } = await commit(3)
    expect(await read().verifyReceipt([batchId, receipts[1]!, 1, tree.proof(1)])).toBe(true)
    expect(await read().verifyReceipt([batchId, receipts[1]!, 0, tree.proof(1)])).toBe(false)
    expect(await read().verifyReceipt([9n, receipts[1]!, 1, tree.proof(1)])).toBe(false)
    expect(await read().receiptDigest([receipts[0]!])).toBe(
      hashReceipt(receipts[0]!, { chainId: f.chain.chainId, settlement: f.book.contracts.settlement }),
    )
    expect(await f.contracts.nodeRegistry.read.isActive([sender(NODE).address, Role.inference])).toBe(true)
  })
})
