import { ContractRevertError, TxSender } from '@verity/chain'
import { seededRandom } from '@verity/runtime'
import { type Address, keccak256, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BatchStatus, buildReceiptTree, ChallengeStatus, hashReceipt, type Receipt, settlementAbi } from '../src/index.js'
import { deployFixture, type Fixture, registerOperator, TOKEN } from './fixture.js'

/**
 * Invariants of the settlement contracts under random sequences of every state-changing action by
 * several clients, nodes, verifiers and a challenger, checked after every action against the
 * chain's own state: (1) solvency — the tokens each contract holds equal what it owes; (2) no fee is
 * paid twice — what was claimed plus what is claimable equals the fees of finalized batches, and no
 * batch finalizes twice.
 */
describe('Settlement invariants under random action sequences', () => {
  let f: Fixture
  const seen = new Set<string>()
  beforeAll(async () => {
    f = await deployFixture()
  })
  afterAll(() => f.close())

  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: solvency and no double payment after each of 70 actions`, async () => {
      const snapshot = await f.chain.snapshot()
      const rand = seededRandom(seed)
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!
      const who = (i: number) => new TxSender({ chain: f.chain, account: f.chain.accounts[i]!.privateKey })
      const nodes = [who(1), who(7)]
      const verifiers = [who(2), who(3)]
      const clients = [who(4), who(5), who(6)]
      const challenger = who(8)
      const everyone = [...nodes, ...verifiers, ...clients, challenger]
      const s = { address: f.book.contracts.settlement, abi: settlementAbi } as const
      const r = { address: f.book.contracts.nodeRegistry, abi: f.contracts.nodeRegistry.abi } as const
      for (const n of nodes) await registerOperator(f, n, 'inference', 1500n * TOKEN)
      for (const v of verifiers) await registerOperator(f, v, 'verifier', 200n * TOKEN)
      for (const c of clients) await c.write({ ...s, functionName: 'deposit', args: [5n * TOKEN] })
      const domain = { chainId: f.chain.chainId, settlement: f.book.contracts.settlement }
      const batches: { id: bigint; receipts: Receipt[]; tree: ReturnType<typeof buildReceiptTree> }[] = []
      const attesters = new Map<bigint, Address[]>()
      let challenges = 0n
      const outcomes: Record<string, number> = {}

      const actions: Record<string, () => Promise<unknown>> = {
        deposit: () => pick(clients).write({ ...s, functionName: 'deposit', args: [BigInt(1 + Math.floor(rand() * 3)) * TOKEN] }),
        requestWithdrawal: () =>
          pick(clients).write({ ...s, functionName: 'requestWithdrawal', args: [BigInt(Math.floor(rand() * 6)) * TOKEN] }),
        withdraw: () => pick(clients).write({ ...s, functionName: 'withdraw', args: [] }),
        commit: async () => {
          const node = pick(nodes)
          const count = 1 + Math.floor(rand() * 6)
          const receipts: Receipt[] = Array.from({ length: count }, (_, i) => ({
            requestHash: keccak256(toHex(`${seed}-${batches.length}-${i}`)),
            modelId: keccak256(toHex('m')),
            inputHash: keccak256(toHex(`in ${i}`)),
            outputHash: keccak256(toHex(`out ${i}`)),
            node: node.address,
            client: pick(clients).address,
            fee: BigInt(1 + Math.floor(rand() * 2000)) * 10n ** 15n,
            issuedAt: 1n,
            mode: 1,
          }))
          const tree = buildReceiptTree(receipts.map((x) => hashReceipt(x, domain)))
          const debits = new Map<Address, bigint>()
          for (const x of receipts) debits.set(x.client, (debits.get(x.client) ?? 0n) + x.fee)
          const list = [...debits]
            .map(([client, amount]) => ({ client, amount }))
            .sort((a, b) => (BigInt(a.client) < BigInt(b.client) ? -1 : 1))
          const total = list.reduce((sum, d) => sum + d.amount, 0n)
          await node.write({ ...s, functionName: 'commitBatch', args: [tree.root, count, total, '', list] })
          batches.push({ id: await f.contracts.settlement.read.batchCount(), receipts, tree })
        },
        attest: async () => {
          const b = pick(batches.length ? batches : [undefined])
          if (!b) return
          const verifier = pick(verifiers)
          const bits = BigInt(1 + Math.floor(rand() * (2 ** b.receipts.length - 1)))
          await verifier.write({ ...s, functionName: 'attest', args: [b.id, [bits]] })
          attesters.set(b.id, [...(attesters.get(b.id) ?? []), verifier.address])
        },
        finalize: async () => {
          const b = pick(batches.length ? batches : [undefined])
          if (!b) return
          const list = [...(attesters.get(b.id) ?? [])].sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1))
          await pick(everyone).write({ ...s, functionName: 'finalize', args: [b.id, list] })
        },
        challenge: async () => {
          const b = pick(batches.length ? batches : [undefined])
          if (!b) return
          const index = Math.floor(rand() * b.receipts.length)
          await challenger.write({ ...s, functionName: 'challenge', args: [b.id, b.receipts[index]!, index, b.tree.proof(index)] })
          challenges++
        },
        expire: () =>
          pick(everyone).write({
            ...s,
            functionName: 'expireChallenge',
            args: [1n + BigInt(Math.floor(rand() * Math.max(1, Number(challenges))))],
          }),
        claim: () => pick(everyone).write({ ...s, functionName: 'claim', args: [] }),
        stake: () => pick(verifiers).write({ ...r, functionName: 'stake', args: [2, TOKEN] }),
        unbond: () => pick(nodes).write({ ...r, functionName: 'requestUnbond', args: [1, BigInt(1 + Math.floor(rand() * 200)) * TOKEN] }),
        withdrawStake: () => pick(nodes).write({ ...r, functionName: 'withdraw', args: [1] }),
        time: () => f.chain.increaseTime(Math.floor(rand() * 150)),
      }

      const checkInvariants = async (step: number) => {
        const read = f.contracts.settlement.read
        let owed = 0n
        for (const c of clients) owed += (await read.escrowOf([c.address])).balance
        let finalizedFees = 0n
        for (const b of batches) {
          const batch = await read.getBatch([b.id])
          if (batch.status === BatchStatus.finalized) finalizedFees += batch.feeCollected
          else owed += batch.feeCollected
        }
        let claimable = 0n
        for (const a of everyone) claimable += await read.claimable([a.address])
        owed += claimable
        for (let id = 1n; id <= (await read.challengeCount()); id++) {
          const c = await read.getChallenge([id])
          if (c.status === ChallengeStatus.open) owed += c.bond
        }
        expect(await f.contracts.token.read.balanceOf([f.book.contracts.settlement]), `settlement solvency after step ${step}`).toBe(owed)
        let staked = 0n
        for (const role of [1, 2]) {
          for (const a of everyone) {
            const o = await f.contracts.nodeRegistry.read.getOperator([a.address, role])
            staked += o.staked + o.unbonding
          }
        }
        expect(await f.contracts.token.read.balanceOf([f.book.contracts.nodeRegistry]), `registry solvency after step ${step}`).toBe(staked)
        const claimed = await f.chain.publicClient.getContractEvents({
          ...s,
          eventName: 'Claimed',
          fromBlock: f.book.deployedAtBlock,
          strict: true,
        })
        const paid = claimed.reduce((sum, e) => sum + e.args.amount, 0n)
        expect(paid + claimable, `fees paid once after step ${step}`).toBe(finalizedFees)
        const finalized = await f.chain.publicClient.getContractEvents({
          ...s,
          eventName: 'BatchFinalized',
          fromBlock: f.book.deployedAtBlock,
          strict: true,
        })
        expect(new Set(finalized.map((e) => e.args.batchId)).size).toBe(finalized.length)
      }

      const names = Object.keys(actions)
      for (let step = 0; step < 70; step++) {
        const name = step < 3 ? 'commit' : pick(names)
        try {
          await actions[name]!()
          outcomes[`${name} ok`] = (outcomes[`${name} ok`] ?? 0) + 1
        } catch (error) {
          // Refused actions must be the contracts' own typed refusals, and change nothing.
          expect(error, `${name} at step ${step}`).toBeInstanceOf(ContractRevertError)
          outcomes[`${name} refused`] = (outcomes[`${name} refused`] ?? 0) + 1
        }
        await checkInvariants(step)
      }
      console.log(`seed ${seed}:`, JSON.stringify(outcomes))
      expect(outcomes['commit ok']).toBeGreaterThanOrEqual(3)
      for (const key of Object.keys(outcomes)) seen.add(key)
      await f.chain.revert(snapshot)
    }, 300_000)
  }

  it('exercised every kind of state change, both succeeding and refused', () => {
    for (const kind of ['commit', 'attest', 'finalize', 'challenge', 'claim', 'deposit', 'withdraw', 'unbond', 'stake'])
      expect(seen, kind).toContain(`${kind} ok`)
    for (const kind of ['finalize', 'claim', 'withdraw', 'expire']) expect(seen, kind).toContain(`${kind} refused`)
  })
})
