import { ContractRevertError, TxSender, type WriteResult } from '@verity/chain'
import { seededRandom } from '@verity/runtime'
import { type Address, type Hex, keccak256, parseEventLogs, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eip712Types, hashReceipt, type Receipt, settlementAbi, verityDomain } from '../src/index.js'
import {
  deployFixture,
  type Fixture,
  forgedReceipts,
  inputOf,
  redemptionOf,
  registerOperator,
  signVoucher,
  sortAddresses,
  TOKEN,
  treeOf,
  type Voucher,
} from './fixture.js'
import { guessedTags } from './guessedTags.js'

/**
 * Invariants of the money rules under random sequences of every state-changing action — clients
 * signing requests (payment vouchers), an honest and a hostile node committing (honest batches,
 * forged receipts, replays of other batches, random roots, a re-sent commit after a crash),
 * verifiers attesting, redemptions (honest and forged), data and execution challenges, answers,
 * expiries, attester slashes, claims, deposits, withdrawals — checked after every action against the
 * chain's own state:
 *   (1) no client is debited more, on its channel with a node, than the highest running total it
 *       signed for that node; and a client's escrow moves only by its deposits, withdrawals, the
 *       redemptions of its own vouchers and refunds;
 *   (2) nothing settles twice: no batch finalizes twice, no receipt is overturned twice, no channel
 *       pays an increase twice (what the channel paid is the sum of its debits and shortfalls);
 *   (3) solvency: the Settlement holds exactly escrows + claimable + verification pots + open bonds,
 *       and the NodeRegistry exactly the stakes.
 */
const STEPS = 150
const SKIP = 'skip'
const SEEDS = [1, 2, 3, 4]

describe('Settlement invariants under random action sequences', () => {
  let f: Fixture
  const seen = new Set<string>()
  beforeAll(async () => {
    f = await deployFixture()
  })
  afterAll(() => f.close())

  for (const seed of SEEDS) {
    it(`seed ${seed}: signed debits only, nothing settles twice, solvency — after each of ${STEPS} actions`, async () => {
      const snapshot = await f.chain.snapshot()
      const rand = seededRandom(seed)
      const int = (n: number) => Math.floor(rand() * n)
      const pick = <T>(xs: readonly T[]) => xs[int(xs.length)]!
      const who = (i: number) => new TxSender({ chain: f.chain, account: f.chain.accounts[i]!.privateKey })
      const honest = who(1)
      const hostile = who(7)
      const nodes = [honest, hostile]
      const verifiers = [who(2), who(3)]
      const clients = [who(4), who(5), who(6)]
      const challenger = who(8)
      const everyone = [who(0), ...nodes, ...verifiers, ...clients, challenger, who(9)]
      const s = { address: f.book.contracts.settlement, abi: settlementAbi } as const
      const r = { address: f.book.contracts.nodeRegistry, abi: f.contracts.nodeRegistry.abi } as const
      for (const n of nodes) await registerOperator(f, n, 'inference', 1200n * TOKEN)
      for (const v of verifiers) await registerOperator(f, v, 'verifier', 200n * TOKEN)
      for (const c of clients) await c.write({ ...s, functionName: 'deposit', args: [5n * TOKEN] })

      type Batch = {
        id: bigint
        node: TxSender
        receipts: Receipt[]
        tree: ReturnType<typeof treeOf>['tree']
        vouchers: (Voucher | undefined)[]
      }
      const key = (client: Address, node: Address) => `${client}|${node}`
      /** The running total each client has signed for each node, and every voucher it signed. */
      const running = new Map<string, bigint>()
      const pending = new Map<Address, Voucher[]>(nodes.map((n) => [n.address, []]))
      const batches: Batch[] = []
      const attesters = new Map<bigint, Address[]>()
      const lastCommit = new Map<Address, { root: Hex; count: number; feeTotal: bigint; sequence: number }>()
      let challenges = 0n
      let nonce = 0
      const outcomes: Record<string, number> = {}
      // Ledger from the transactions' own events.
      const debited = new Map<string, bigint>()
      const owed = new Map<string, bigint>()
      const escrowFlow = new Map<Address, bigint>(clients.map((c) => [c.address, 5n * TOKEN]))
      const finalized = new Set<bigint>()
      const overturned = new Set<string>()
      /** Inclusion challenges opened: the client each one refunds. */
      const inclusions = new Map<bigint, { client: Address; receipt: Receipt }>()
      const availabilities: bigint[] = []

      const record = (result: WriteResult) => {
        for (const log of parseEventLogs({ abi: settlementAbi, logs: result.receipt.logs })) {
          if (log.eventName === 'Redeemed') {
            const k = key(log.args.client, log.args.node)
            debited.set(k, (debited.get(k) ?? 0n) + log.args.debited)
            owed.set(k, (owed.get(k) ?? 0n) + log.args.debited + log.args.shortfall)
            escrowFlow.set(log.args.client, (escrowFlow.get(log.args.client) ?? 0n) - log.args.debited)
          } else if (log.eventName === 'Deposited') {
            escrowFlow.set(log.args.client, (escrowFlow.get(log.args.client) ?? 0n) + log.args.amount)
          } else if (log.eventName === 'Withdrawn') {
            escrowFlow.set(log.args.client, (escrowFlow.get(log.args.client) ?? 0n) - log.args.amount)
          } else if (log.eventName === 'ReceiptOverturned') {
            const id = `${log.args.batchId}:${log.args.receiptIndex}`
            expect(overturned.has(id), `receipt ${id} overturned twice`).toBe(false)
            overturned.add(id)
            escrowFlow.set(log.args.client, (escrowFlow.get(log.args.client) ?? 0n) + log.args.refund)
          } else if (log.eventName === 'InclusionProven') {
            const client = inclusions.get(log.args.challengeId)!.client
            escrowFlow.set(client, (escrowFlow.get(client) ?? 0n) + log.args.refund)
          } else if (log.eventName === 'InclusionExpired') {
            escrowFlow.set(log.args.client, (escrowFlow.get(log.args.client) ?? 0n) + log.args.refund)
          } else if (log.eventName === 'BatchFinalized') {
            expect(finalized.has(log.args.batchId), `batch ${log.args.batchId} finalized twice`).toBe(false)
            finalized.add(log.args.batchId)
          }
        }
        return result
      }
      const pickBatch = () => (batches.length ? pick(batches) : undefined)
      const commit = async (node: TxSender, receipts: Receipt[], vouchers: (Voucher | undefined)[], root?: Hex) => {
        const { tree, feeTotal } = treeOf(f, receipts)
        const sequence = (await f.contracts.settlement.read.exposureOf([node.address])).commits + 1
        const args = { root: root ?? tree.root, count: receipts.length, feeTotal, sequence }
        record(
          await node.write({
            ...s,
            functionName: 'commitBatch',
            args: [args.root, args.count, args.feeTotal, args.sequence, ''],
          }),
        )
        lastCommit.set(node.address, args)
        batches.push({ id: await f.contracts.settlement.read.batchCount(), node, receipts, tree, vouchers })
      }

      const actions: Record<string, () => Promise<unknown>> = {
        // An action with nothing to act on returns SKIP.
        request: async () => {
          // A client signs its next request to a node: the channel's running total grows by the fee.
          const client = pick(clients)
          const node = rand() < 0.75 ? honest : hostile
          const fee = BigInt(1 + int(2000)) * 10n ** 15n
          const total = (running.get(key(client.address, node.address)) ?? 0n) + fee
          running.set(key(client.address, node.address), total)
          const v = await signVoucher(f, { signer: client, node: node.address, seed: nonce++, channelTotal: total, fee })
          pending.get(node.address)!.push(v)
        },
        commit: async () => {
          const node = pick(nodes)
          const queue = pending.get(node.address)!
          if (queue.length === 0) return SKIP
          const vs = queue.splice(0, queue.length)
          await commit(
            node,
            vs.map((v) => v.receipt),
            vs,
          )
        },
        forge: async () => {
          // The hostile node commits receipts no client signed, a replay of another batch, or a random root.
          const kind = int(3)
          if (kind === 0) {
            const receipts = forgedReceipts(1 + int(5), {
              node: hostile.address,
              client: pick(clients).address,
              fee: BigInt(1 + int(5000)) * 10n ** 15n,
              tag: `forged ${nonce++}`,
            })
            await commit(hostile, receipts, [])
          } else if (kind === 1) {
            const b = pickBatch()
            if (!b) return SKIP
            await commit(hostile, b.receipts, b.node === hostile ? b.vouchers : [])
          } else {
            const receipts = forgedReceipts(1 + int(3), { node: hostile.address, client: pick(clients).address, fee: TOKEN })
            await commit(hostile, receipts, [], keccak256(toHex(`random root ${nonce++}`)))
          }
        },
        crash: async () => {
          // A node restarted after a crash re-sends its last commit: same sequence number.
          const node = pick(nodes)
          const last = lastCommit.get(node.address)
          if (!last) return SKIP
          await node.write({
            ...s,
            functionName: 'commitBatch',
            args: [last.root, last.count, last.feeTotal, last.sequence, ''],
          })
          throw new Error('a re-sent commit was accepted')
        },
        attest: async () => {
          const b = pickBatch()
          if (!b) return SKIP
          const verifier = pick(verifiers)
          const bits = BigInt(1 + int(2 ** b.receipts.length - 1))
          record(await verifier.write({ ...s, functionName: 'attest', args: [b.id, [bits], guessedTags([bits])] }))
          attesters.set(b.id, [...(attesters.get(b.id) ?? []), verifier.address])
        },
        finalize: async () => {
          const b = pickBatch()
          if (!b) return SKIP
          record(await pick(everyone).write({ ...s, functionName: 'finalize', args: [b.id, sortAddresses(attesters.get(b.id) ?? [])] }))
        },
        redeem: async () => {
          // The batch's node redeems one of its receipts' vouchers (often an old one: refused).
          const withVouchers = batches.filter((x) => x.vouchers.length > 0)
          const b = withVouchers.length ? pick(withVouchers) : undefined
          const index = b ? b.vouchers.findIndex((v, i) => v !== undefined && (i === b.vouchers.length - 1 || rand() < 0.5)) : -1
          if (!b || index < 0) return SKIP
          const v = b.vouchers[index]!
          // A credit (fees of the channel's overturned or unproven receipts the client had not paid yet)
          // forgives part of the increase: the channel's mark then moves by what was owed plus the credit used.
          const credit = () => f.contracts.settlement.read.channelCredit([v.receipt.client, b.node.address])
          const before = await credit()
          record(
            await b.node.write({
              ...s,
              functionName: 'redeem',
              args: [v.request, v.signature, redemptionOf(v.receipt, b.id, index, b.tree.proof(index))],
            }),
          )
          const k = key(v.receipt.client, b.node.address)
          owed.set(k, (owed.get(k) ?? 0n) + before - (await credit()))
        },
        forgeRedeem: async () => {
          // The hostile node presents another node's voucher, a raised total, or a receipt it forged.
          const b = pickBatch()
          const index = b ? b.vouchers.findIndex((v) => v !== undefined) : -1
          if (!b || index < 0) return SKIP
          const v = b.vouchers[index]!
          const at = redemptionOf(v.receipt, b.id, index, b.tree.proof(index))
          // A voucher for the hostile node itself is its own to redeem: only tampered versions of it are forgeries.
          const kind = v.request.node === hostile.address ? 1 + int(2) : int(3)
          const request = kind === 1 ? { ...v.request, channelTotal: v.request.channelTotal * 10n } : v.request
          const signature =
            kind === 2
              ? await hostile.account.signTypedData!({
                  domain: verityDomain({ chainId: f.chain.chainId, settlement: s.address }),
                  types: eip712Types,
                  primaryType: 'InferenceRequest',
                  message: request,
                })
              : v.signature
          record(await hostile.write({ ...s, functionName: 'redeem', args: [request, signature, at] }))
          throw new Error(`a forged redemption (kind ${kind}) was accepted`)
        },
        challengeData: async () => {
          const b = pickBatch()
          if (!b) return SKIP
          const index = int(b.receipts.length)
          record(
            await challenger.write({ ...s, functionName: 'challengeData', args: [b.id, b.receipts[index]!, index, b.tree.proof(index)] }),
          )
          challenges++
        },
        publish: async () => {
          // The node answers a data challenge with the client's request when it has it.
          if (challenges === 0n) return SKIP
          const id = 1n + BigInt(int(Number(challenges)))
          const c = await f.contracts.settlement.read.getChallenge([id])
          // (An inclusion challenge names no batch until proven.)
          const b = batches.find((x) => x.id === c.batchId)
          if (!b) return SKIP
          const v = b.vouchers[c.receiptIndex]
          const receipt = b.receipts[c.receiptIndex]!
          const evidence =
            v ?? (await signVoucher(f, { signer: pick(clients), node: receipt.node, seed: 0, channelTotal: 1n, fee: receipt.fee }))
          record(
            await b.node.write({
              ...s,
              functionName: 'publishData',
              args: [id, receipt, evidence.request, evidence.signature, v ? v.inputs : [inputOf(0).bytes]],
            }),
          )
        },
        challengeAvailability: async () => {
          // A position only, as against a node that serves nothing.
          const b = pickBatch()
          if (!b) return SKIP
          record(await challenger.write({ ...s, functionName: 'challengeAvailability', args: [b.id, int(b.receipts.length + 1)] }))
          challenges++
          availabilities.push(challenges)
        },
        publishReceipt: async () => {
          // The node answers an availability challenge (mostly the latest) with the leaf, its proof and the client's request when it has it.
          if (availabilities.length === 0) return SKIP
          const id = rand() < 0.7 ? availabilities.at(-1)! : pick(availabilities)
          const c = await f.contracts.settlement.read.getChallenge([id])
          const b = batches.find((x) => x.id === c.batchId)
          if (!b) return SKIP
          const v = b.vouchers[c.receiptIndex]
          const receipt = b.receipts[c.receiptIndex]!
          const evidence =
            v ?? (await signVoucher(f, { signer: pick(clients), node: receipt.node, seed: 0, channelTotal: 1n, fee: receipt.fee }))
          record(
            await b.node.write({
              ...s,
              functionName: 'publishReceipt',
              args: [id, receipt, b.tree.proof(c.receiptIndex), evidence.request, evidence.signature, v ? v.inputs : [inputOf(0).bytes]],
            }),
          )
        },
        challengeInclusion: async () => {
          // A client holding a receipt its node signed (committed or not) asks the node to prove it committed.
          const held = [...batches.flatMap((b) => b.vouchers), ...[...pending.values()].flat()].filter((v) => v !== undefined)
          if (held.length === 0) return SKIP
          const v = pick(held)
          const node = nodes.find((n) => n.address === v.receipt.node)!
          const signature = await node.account.signTypedData!({
            domain: verityDomain({ chainId: f.chain.chainId, settlement: s.address }),
            types: eip712Types,
            primaryType: 'Receipt',
            message: v.receipt,
          })
          const client = clients.find((c) => c.address === v.receipt.client)!
          const result = record(await client.write({ ...s, functionName: 'challengeInclusion', args: [v.receipt, signature] }))
          const [opened] = parseEventLogs({ abi: settlementAbi, eventName: 'InclusionChallenged', logs: result.receipt.logs })
          inclusions.set(opened!.args.challengeId, { client: client.address, receipt: v.receipt })
          challenges++
        },
        proveInclusion: async () => {
          // The node proves the receipt in one of its batches that holds it (if any: else it lets it expire).
          if (inclusions.size === 0) return SKIP
          const [id, { receipt }] = pick([...inclusions.entries()])
          const digest = hashReceipt(receipt, { chainId: f.chain.chainId, settlement: s.address })
          const found = batches
            .map((b) => ({
              b,
              index: b.receipts.findIndex((r) => hashReceipt(r, { chainId: f.chain.chainId, settlement: s.address }) === digest),
            }))
            .filter((x) => x.index >= 0)
          if (found.length === 0) return SKIP
          const { b, index } = pick(found)
          record(await b.node.write({ ...s, functionName: 'proveInclusion', args: [id, b.id, index, b.tree.proof(index)] }))
        },
        challenge: async () => {
          const b = pickBatch()
          if (!b) return SKIP
          const index = int(b.receipts.length)
          record(await challenger.write({ ...s, functionName: 'challenge', args: [b.id, b.receipts[index]!, index, b.tree.proof(index)] }))
          challenges++
        },
        expire: async () => {
          if (challenges === 0n) return SKIP
          record(await pick(everyone).write({ ...s, functionName: 'expireChallenge', args: [1n + BigInt(int(Number(challenges)))] }))
        },
        slashAttester: async () => {
          const b = pickBatch()
          const list = b ? (attesters.get(b.id) ?? []) : []
          if (!b || list.length === 0) return SKIP
          const index = int(b.receipts.length)
          record(
            await challenger.write({
              ...s,
              functionName: 'slashAttester',
              args: [
                b.id,
                index,
                pick(list),
                [BigInt(1 + int(2 ** b.receipts.length - 1))],
                guessedTags([BigInt(1 + int(2 ** b.receipts.length - 1))]),
              ],
            }),
          )
        },
        claim: async () => record(await pick(everyone).write({ ...s, functionName: 'claim', args: [] })),
        deposit: async () => record(await pick(clients).write({ ...s, functionName: 'deposit', args: [BigInt(1 + int(3)) * TOKEN] })),
        requestWithdrawal: async () =>
          record(await pick(clients).write({ ...s, functionName: 'requestWithdrawal', args: [BigInt(int(6)) * TOKEN] })),
        withdraw: async () => record(await pick(clients).write({ ...s, functionName: 'withdraw', args: [] })),
        stake: async () => record(await pick(nodes).write({ ...r, functionName: 'stake', args: [1, 20n * TOKEN] })),
        time: () => f.chain.increaseTime(pick([10, 49, 60, 101, 201, 401])),
      }

      const checkInvariants = async (step: string) => {
        const read = f.contracts.settlement.read
        const channelKeys = clients.flatMap((c) => nodes.map((n) => [c.address, n.address] as const))
        const [escrows, claimable, pots, paid, count, held, registryHeld, operators] = await Promise.all([
          Promise.all(clients.map((c) => read.escrowOf([c.address]))),
          Promise.all(everyone.map((a) => read.claimable([a.address]))),
          Promise.all([1, 2].map((id) => read.verificationPot([id]))),
          Promise.all(channelKeys.map(([c, n]) => read.channelPaid([c, n]))),
          read.challengeCount(),
          f.contracts.token.read.balanceOf([s.address]),
          f.contracts.token.read.balanceOf([r.address]),
          Promise.all(everyone.flatMap((a) => [1, 2].map((role) => f.contracts.nodeRegistry.read.getOperator([a.address, role])))),
        ])
        const open = await Promise.all(Array.from({ length: Number(count) }, (_, i) => read.getChallenge([BigInt(i + 1)])))
        // (1) debits within what each client signed for each node; escrow moves only by the client's own flows.
        for (const [i, [c, n]] of channelKeys.entries()) {
          const signed = running.get(key(c, n)) ?? 0n
          expect(debited.get(key(c, n)) ?? 0n, `${step}: debited from ${c} for ${n} ≤ signed ${signed}`).toBeLessThanOrEqual(signed)
          expect(paid[i], `${step}: channel ${c}→${n} paid ≤ signed`).toBeLessThanOrEqual(signed)
          // (2) every increase is paid once: the channel's mark is the sum of what its redemptions owed
          //     (and the credits they used).
          expect(paid[i], `${step}: channel ${c}→${n} paid = Σ owed`).toBe(owed.get(key(c, n)) ?? 0n)
        }
        for (const [i, c] of clients.entries()) {
          expect(escrows[i]!.balance, `${step}: escrow of ${c.address} follows its flows`).toBe(escrowFlow.get(c.address))
        }
        // (3) solvency.
        const bonds = open.filter((c) => c.status === 1).reduce((sum, c) => sum + c.bond, 0n)
        const sum = (xs: readonly bigint[]) => xs.reduce((a, b) => a + b, 0n)
        expect(held, `${step}: settlement solvency`).toBe(sum(escrows.map((e) => e.balance)) + sum(claimable) + sum(pots) + bonds)
        expect(registryHeld, `${step}: registry solvency`).toBe(sum(operators.map((o) => o.staked + o.unbonding)))
      }

      // Weighted: the honest flow (requests, commits, time, finalization, redemption) runs often enough to settle.
      const weights: Record<string, number> = { request: 4, commit: 3, forge: 2, attest: 2, finalize: 3, redeem: 4, forgeRedeem: 2 }
      Object.assign(weights, { challengeData: 2, publish: 2, expire: 2, claim: 2, withdraw: 2, time: 4 })
      Object.assign(weights, { challengeAvailability: 2, publishReceipt: 2, challengeInclusion: 1, proveInclusion: 2 })
      const names = Object.keys(actions).flatMap((name) => Array<string>(weights[name] ?? 1).fill(name))
      for (let step = 0; step < STEPS; step++) {
        const name = step < 4 ? 'request' : step < 6 ? 'commit' : pick(names)
        try {
          const done = await actions[name]!()
          const outcome = done === SKIP ? `${name} skipped` : `${name} ok`
          outcomes[outcome] = (outcomes[outcome] ?? 0) + 1
        } catch (error) {
          // Refused actions must be the contracts' own typed refusals, and change nothing.
          if (!(error instanceof ContractRevertError)) throw error
          outcomes[`${name} refused`] = (outcomes[`${name} refused`] ?? 0) + 1
          outcomes[`${name} ${error.errorName}`] = (outcomes[`${name} ${error.errorName}`] ?? 0) + 1
        }
        await checkInvariants(`seed ${seed}, step ${step} (${name})`)
      }
      console.log(`seed ${seed}:`, JSON.stringify(outcomes))
      for (const k of Object.keys(outcomes)) seen.add(k)
      if (overturned.size > 0) seen.add('receipt overturned')
      await f.chain.revert(snapshot)
    }, 120_000)
  }

  it('exercised every kind of action, honest ones succeeding and attacks refused', () => {
    for (const kind of [
      'request',
      'commit',
      'forge',
      'attest',
      'finalize',
      'redeem',
      'challengeData',
      'expire',
      'claim',
      'deposit',
      'challengeAvailability',
      'publishReceipt',
      'challengeInclusion',
      'proveInclusion',
    ])
      expect(seen, kind).toContain(`${kind} ok`)
    // A re-sent commit and a forged redemption are refused (an accepted one fails its step).
    expect(seen).toContain('crash WrongCommitSequence')
    expect(seen).toContain('forgeRedeem refused')
    expect(seen).toContain('redeem ChannelNotAhead')
    expect(seen).toContain('receipt overturned')
  })
})
