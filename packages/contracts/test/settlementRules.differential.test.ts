import { ContractRevertError, TxSender, type WriteResult } from '@verity/chain'
import { seededRandom } from '@verity/runtime'
import { type Address, parseEventLogs } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { attesterPayEqual, exposureAllows, Role, redeemSplit, restitution, slashSplit } from '../src/index.js'
import {
  deployFixture,
  type Fixture,
  forgedReceipts,
  redemptionOf,
  registerOperator,
  signVoucher,
  sortAddresses,
  TEST_PARAMS,
  TOKEN,
  treeOf,
} from './fixture.js'
import { guessedTags } from './guessedTags.js'

/**
 * Differential test of `src/settlementRules.ts` against `Settlement.sol`: random cases run through the
 * real contract on the embedded chain and through the pure functions, which must agree to the wei.
 * Seeded; VERITY_FUZZ_SEED replays another seed.
 */
const SEED = Number(process.env.VERITY_FUZZ_SEED ?? 14_001)
const WINDOW = TEST_PARAMS.challengeWindow!
const RESPONSE = TEST_PARAMS.dataResponseTime!
const SLASH = TEST_PARAMS.slashAmount!
const ATTESTER_SLASH = TEST_PARAMS.attesterSlash!
const SHARE = BigInt(TEST_PARAMS.verifierShareBps!)
const BOUNTY = BigInt(TEST_PARAMS.bountyBps!)

let f: Fixture
beforeAll(async () => {
  f = await deployFixture()
})
afterAll(() => f.close())

const NODE = 1
const VERIFIERS = [2, 3, 4]
const CLIENT = 5
const OTHER = 6

async function eachCase(cases: number, body: (n: number, rand: () => number, senders: TxSender[]) => Promise<void>) {
  for (let n = 0; n < cases; n++) {
    const snapshot = await f.chain.snapshot()
    try {
      await body(
        n,
        seededRandom(SEED + n),
        f.chain.accounts.map((a) => new TxSender({ chain: f.chain, account: a.privateKey })),
      )
    } finally {
      await f.chain.revert(snapshot)
    }
  }
}

const s = () => ({ address: f.book.contracts.settlement, abi: f.contracts.settlement.abi }) as const
const read = () => f.contracts.settlement.read
const stakeOf = async (who: Address, role: number) => (await f.contracts.nodeRegistry.read.getOperator([who, role])).staked
const eventArgs = (result: WriteResult, eventName: string) =>
  parseEventLogs({ abi: s().abi, logs: result.receipt.logs, eventName: eventName as never }).map(
    (e) => (e as unknown as { args: Record<string, bigint> }).args,
  )

describe('settlementRules ≡ Settlement.sol', () => {
  it('exposureAllows decides exactly which commits revert with ExposureAboveStake', async () => {
    await eachCase(6, async (n, rand, senders) => {
      const node = senders[NODE]!
      const stake = 1_000n * TOKEN + BigInt(Math.floor(rand() * 2_000)) * TOKEN + BigInt(Math.floor(rand() * 1e6))
      await registerOperator(f, node, 'inference', stake)
      let open = 0n
      for (let k = 0; k < 6; k++) {
        const count = BigInt(1 + Math.floor(rand() * 120))
        const receipts = forgedReceipts(Number(count), { node: node.address, client: senders[CLIENT]!.address, fee: 1n, tag: `${n}.${k}` })
        const { tree, feeTotal } = treeOf(f, receipts)
        const sequence = (await read().exposureOf([node.address])).commits + 1
        const allowed = exposureAllows({ openReceipts: open, count, receiptSlash: SLASH, stake })
        const outcome = await node
          .write({ ...s(), functionName: 'commitBatch', args: [tree.root, Number(count), feeTotal, sequence, 'http://n/b'] })
          .then(
            () => 'committed',
            (e: unknown) => (e instanceof ContractRevertError ? e.errorName : String(e)),
          )
        expect(outcome, `case ${n} commit ${k}: open ${open} + ${count}, stake ${stake}`).toBe(allowed ? 'committed' : 'ExposureAboveStake')
        if (allowed) open += count
      }
    })
  })

  it('redeemSplit, slashSplit, restitution and attesterPayEqual give what redeem, overturn, slashAttester and finalize move', async () => {
    await eachCase(5, async (n, rand, senders) => {
      const node = senders[NODE]!
      const client = senders[CLIENT]!
      const other = senders[OTHER]!
      await registerOperator(f, node, 'inference', 1_000n * TOKEN + BigInt(Math.floor(rand() * 500)) * TOKEN)
      for (const v of VERIFIERS) await registerOperator(f, senders[v]!, 'verifier', 100n * TOKEN + BigInt(Math.floor(rand() * 50)) * TOKEN)
      await client.write({ ...s(), functionName: 'deposit', args: [1_000n * TOKEN] })
      const fee0 = BigInt(Math.floor(rand() * 1e6)) * 10n ** 12n + 1n
      const fee1 = BigInt(Math.floor(rand() * 1e6)) * 10n ** 12n + 1n
      const where = `case ${n} (seed ${SEED + n}): fees ${fee0}, ${fee1}`

      // Batch A: one receipt, finalized (attested by the first verifier) and redeemed.
      const v0 = await signVoucher(f, { signer: client, node: node.address, seed: 100 * n, channelTotal: fee0, fee: fee0 })
      const a = treeOf(f, [v0.receipt])
      await node.write({ ...s(), functionName: 'commitBatch', args: [a.tree.root, 1, a.feeTotal, 1, 'http://n/a'] })
      await senders[VERIFIERS[0]!]!.write({ ...s(), functionName: 'attest', args: [1n, [1n], guessedTags([1n])] })
      await f.chain.increaseTime(WINDOW + 1)
      await other.write({ ...s(), functionName: 'finalize', args: [1n, [senders[VERIFIERS[0]!]!.address]] })
      const redeemed = await node.write({
        ...s(),
        functionName: 'redeem',
        args: [v0.request, v0.signature, redemptionOf(v0.receipt, 1n, 0, a.tree.proof(0))],
      })
      const r = eventArgs(redeemed, 'Redeemed')[0]!
      expect(r.debited, where).toBe(fee0)
      expect({ toVerifiers: r.toVerifiers, toNode: await read().claimable([node.address]) }, where).toEqual(redeemSplit(fee0, SHARE))
      if (rand() < 0.5) await node.write({ ...s(), functionName: 'claim', args: [] })

      // Batch B: two receipts, both assigned to every verifier (minSampleRateBps 10,000): the first
      // verifier attests them, each other one at random attests them or not.
      const v1 = await signVoucher(f, { signer: client, node: node.address, seed: 100 * n + 1, channelTotal: fee0 + fee1, fee: fee1 })
      const v2 = await signVoucher(f, { signer: client, node: node.address, seed: 100 * n + 2, channelTotal: fee0 + 2n * fee1, fee: fee1 })
      const b = treeOf(f, [v1.receipt, v2.receipt])
      await node.write({ ...s(), functionName: 'commitBatch', args: [b.tree.root, 2, b.feeTotal, 2, 'http://n/b'] })
      const bitmaps = VERIFIERS.map((_, i) => (i === 0 || rand() < 0.5 ? 3 : 0))
      for (const [i, v] of VERIFIERS.entries()) {
        const bitmap = BigInt(bitmaps[i]!) & 3n
        if (bitmap !== 0n) await senders[v]!.write({ ...s(), functionName: 'attest', args: [2n, [bitmap], guessedTags([bitmap])] })
      }
      // Receipt 0 of B is overturned: its data is not published in time.
      const nodeStake = await stakeOf(node.address, Role.inference)
      const nodeClaimable = await read().claimable([node.address])
      await other.write({ ...s(), functionName: 'challengeData', args: [2n, v1.receipt, 0, b.tree.proof(0)] })
      await f.chain.increaseTime(RESPONSE)
      const expired = await other.write({ ...s(), functionName: 'expireChallenge', args: [1n] })
      const o = eventArgs(expired, 'ReceiptOverturned')[0]!
      const penalty = slashSplit(SLASH, nodeStake, BOUNTY)
      const refund = restitution({ fee: fee1, refundable: fee0, nodeClaimable, nodeStake: nodeStake - penalty.slashed })
      expect({ slashed: o.slashed, bounty: o.bounty, refund: o.refund }, where).toEqual({
        slashed: penalty.slashed,
        bounty: penalty.bounty,
        refund: refund.refund,
      })
      expect(await read().channelCredit([client.address, node.address]), where).toBe(refund.credit)
      expect(await stakeOf(node.address, Role.inference), where).toBe(nodeStake - penalty.slashed - refund.fromStake)

      // Every attester of receipt 0 is slashed; finalize pays the others equal shares of the pool.
      const attesters = VERIFIERS.map((v, i) => ({ sender: senders[v]!, bitmap: BigInt(bitmaps[i]!) & 3n })).filter((x) => x.bitmap !== 0n)
      const slashed = new Set<Address>()
      for (const x of attesters) {
        if ((x.bitmap & 1n) === 0n) continue
        const stake = await stakeOf(x.sender.address, Role.verifier)
        const result = await other.write({
          ...s(),
          functionName: 'slashAttester',
          args: [2n, 0, x.sender.address, [x.bitmap], guessedTags([x.bitmap])],
        })
        const e = eventArgs(result, 'AttesterSlashed')[0]!
        expect(e.slashed, where).toBe(slashSplit(ATTESTER_SLASH, stake, BOUNTY).slashed)
        slashed.add(x.sender.address)
      }
      await f.chain.increaseTime(WINDOW)
      const sorted = sortAddresses(attesters.map((x) => x.sender.address))
      const pot = await read().verificationPot([1])
      const before = await Promise.all(sorted.map((a) => read().claimable([a])))
      await other.write({ ...s(), functionName: 'finalize', args: [2n, sorted] })
      const after = await Promise.all(sorted.map((a) => read().claimable([a])))
      const expected = attesterPayEqual({ feeTotal: b.feeTotal, verifierShareBps: SHARE, pot, slashed: sorted.map((a) => slashed.has(a)) })
      expect(
        after.map((x, i) => x - before[i]!),
        where,
      ).toEqual(expected.pay)
      expect(await read().verificationPot([1]), where).toBe(pot - expected.paid)
    })
  })
})
