import { ContractRevertError, TxSender, type WriteResult } from '@verity/chain'
import { seededRandom } from '@verity/runtime'
import { type Address, type Hex, keccak256, maxUint256, parseEventLogs, toBytes } from 'viem'
import { describe, expect, it } from 'vitest'
import { nodeRegistryAbi, Role, settlementAbi } from '../src/index.js'
import {
  deployFixture,
  type Fixture,
  redemptionOf,
  registerOperator,
  signVoucher,
  TEST_PARAMS,
  TOKEN,
  treeOf,
  type Voucher,
} from './fixture.js'
import { guessedTags } from './guessedTags.js'

/**
 * Fuzz tests of the Settlement and NodeRegistry arithmetic on the embedded EVM, each against a
 * TypeScript model: (a) redemption of client-signed channel vouchers (the debit is the channel's
 * increase, capped by the escrow, split exactly between node and verification pot; a spent voucher
 * never pays again); (b) escrow under deposits, redemptions and withdrawals; (c) staking;
 * (d) exposure bounded by stake and the attesters' pay from the pot. Every case runs
 * from a chain snapshot and reverts it afterwards. Random inputs come from a seeded PRNG; set
 * VERITY_FUZZ_SEED to replay another seed (every assertion message names the seed and the case).
 */
const SEED = Number(process.env.VERITY_FUZZ_SEED ?? 20_240_611)
const WINDOW = TEST_PARAMS.challengeWindow!
const WITHDRAWAL_DELAY = TEST_PARAMS.escrowWithdrawalDelay!
const UNBONDING_DELAY = TEST_PARAMS.unbondingDelay!
const MIN_STAKE = { [Role.inference]: TEST_PARAMS.minInferenceStake!, [Role.verifier]: TEST_PARAMS.minVerifierStake! } as const
const SLASHER_ROLE = keccak256(toBytes('SLASHER_ROLE'))
const UINT96_MAX = 2n ** 96n - 1n
const SLASH = TEST_PARAMS.slashAmount!

// ─── seeded randomness ─────────────────────────────────────────────────────────────────────────

function random(seed: number) {
  const rand = seededRandom(seed)
  const int = (n: number) => Math.floor(rand() * n)
  const bits = (n: number): bigint => {
    let value = 0n
    for (let i = 0; i < n; i += 32) value = (value << 32n) | BigInt(Math.floor(rand() * 2 ** 32))
    return n <= 0 ? 0n : value & ((1n << BigInt(n)) - 1n)
  }
  return {
    int,
    chance: (p: number) => rand() < p,
    pick: <T>(items: readonly T[]): T => items[int(items.length)]!,
    bits,
    /** 0..max, uniform in the number of bits (so 1 wei and 10^26 are both likely). */
    logUniform(max: bigint): bigint {
      const b = int(max.toString(2).length + 1)
      if (b === 0) return 0n
      const value = (1n << BigInt(b - 1)) | bits(b - 1)
      return value > max ? max : value
    },
    hex32: (): Hex => `0x${bits(256).toString(16).padStart(64, '0')}`,
    subset: <T>(items: readonly T[], p: number): T[] => items.filter(() => rand() < p),
    shuffle<T>(items: T[]): T[] {
      for (let i = items.length - 1; i > 0; i--) {
        const j = int(i + 1)
        ;[items[i], items[j]] = [items[j]!, items[i]!]
      }
      return items
    },
  }
}
type Random = ReturnType<typeof random>

// ─── chain helpers ─────────────────────────────────────────────────────────────────────────────

const byAddress = (a: Address, b: Address) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0)
const min = (a: bigint, b: bigint) => (a < b ? a : b)
const max = (a: bigint, b: bigint) => (a > b ? a : b)
const sum = (xs: readonly bigint[]) => xs.reduce((a, b) => a + b, 0n)

/** Runs reads in Promise.all batches of 8 (the embedded EVM slows down under hundreds of concurrent calls). */
async function inBatches<T>(tasks: readonly (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = []
  for (let i = 0; i < tasks.length; i += 8) results.push(...(await Promise.all(tasks.slice(i, i + 8).map((task) => task()))))
  return results
}

/** The write's receipt, or the decoded custom error it reverted with. */
async function attempt(write: Promise<WriteResult>): Promise<WriteResult | ContractRevertError> {
  try {
    return await write
  } catch (error) {
    if (error instanceof ContractRevertError) return error
    throw error
  }
}

type Expected = { ok: true } | { error: string; args: readonly unknown[] }

function expectOutcome(found: WriteResult | ContractRevertError, expected: Expected, where: string): WriteResult | undefined {
  if ('error' in expected) {
    expect(found instanceof ContractRevertError ? `${found.errorName}` : 'success', `${where}: expected ${expected.error}`).toBe(
      expected.error,
    )
    expect((found as ContractRevertError).args, `${where}: ${expected.error} arguments`).toEqual(expected.args)
    return undefined
  }
  expect(
    found instanceof ContractRevertError ? `${found.errorName}(${found.args.join(', ')})` : 'success',
    `${where}: expected success`,
  ).toBe('success')
  return found as WriteResult
}

/**
 * Block time under test control: every transaction is mined at exactly `now` (evm_setNextBlockTimestamp
 * before each write; the simulation against the pending block sees the same time), so outcomes at
 * the edge of a delay are deterministic.
 */
class Clock {
  constructor(
    private readonly f: Fixture,
    public now: number,
  ) {}
  static async start(f: Fixture): Promise<Clock> {
    const block = await f.chain.publicClient.getBlock()
    return new Clock(f, Number(block.timestamp) + 1)
  }
  advance(seconds: number) {
    this.now += seconds
  }
  async send(write: () => Promise<WriteResult>): Promise<WriteResult | ContractRevertError> {
    await this.f.chain.publicClient.request({ method: 'evm_setNextBlockTimestamp', params: [this.now] } as never)
    return attempt(write())
  }
}

/** New TxSenders (their cached nonces are stale after a revert), indexed like the fixture's. */
const freshSenders = (f: Fixture) => f.chain.accounts.map((account) => new TxSender({ chain: f.chain, account: account.privateKey }))

/** Runs `cases` cases of `body`, each from the same snapshot. */
async function eachFromSnapshot(f: Fixture, cases: number, body: (n: number, senders: TxSender[]) => Promise<void>) {
  for (let n = 0; n < cases; n++) {
    const snapshot = await f.chain.snapshot()
    try {
      await body(n, freshSenders(f))
    } finally {
      await f.chain.revert(snapshot)
    }
  }
}

function contractsOf(f: Fixture) {
  return {
    s: { address: f.book.contracts.settlement, abi: f.contracts.settlement.abi } as const,
    r: { address: f.book.contracts.nodeRegistry, abi: f.contracts.nodeRegistry.abi } as const,
    t: { address: f.book.contracts.token, abi: f.contracts.token.abi } as const,
  }
}

/** A random non-empty bitmap over `count` receipts (random density). */
function randomBitmap(r: Random, count: number): bigint[] {
  const words = Array.from({ length: Math.ceil(count / 256) }, () => 0n)
  const density = r.pick([0.002, 0.05, 0.3, 0.7, 1, 1, 1])
  for (let i = 0; i < count; i++) if (r.chance(density)) words[i >> 8]! |= 1n << BigInt(i & 255)
  if (words.every((w) => w === 0n)) {
    const i = r.int(count)
    words[i >> 8]! |= 1n << BigInt(i & 255)
  }
  return words
}

function popcount(words: readonly bigint[]): bigint {
  let total = 0n
  for (const word of words) for (let v = word; v > 0n; v >>= 1n) total += v & 1n
  return total
}

// ─── vouchers ──────────────────────────────────────────────────────────────────────────────────

/** Commits every voucher's receipt in one batch of `node` (its next sequence) and finalizes it. */
async function settleVouchers(f: Fixture, node: TxSender, vouchers: readonly Voucher[]) {
  const { s } = contractsOf(f)
  const { tree, feeTotal } = treeOf(
    f,
    vouchers.map((v) => v.receipt),
  )
  const sequence = (await f.contracts.settlement.read.exposureOf([node.address])).commits + 1
  await node.write({
    ...s,
    functionName: 'commitBatch',
    args: [tree.root, vouchers.length, feeTotal, sequence, ''],
  })
  const batchId = await f.contracts.settlement.read.batchCount()
  await f.chain.increaseTime(WINDOW)
  await node.write({ ...s, functionName: 'finalize', args: [batchId, []] })
  return vouchers.map((v, index) => ({
    voucher: v,
    args: [v.request, v.signature, redemptionOf(v.receipt, batchId, index, tree.proof(index))] as const,
  }))
}

type Channels = {
  paid: Map<string, bigint>
  escrow: Map<Address, bigint>
  claimable: Map<Address, bigint>
  pot: Map<number, bigint>
}

/**
 * What `redeem` must do, by the rules alone: the expected error, or the debit (the increase of the
 * channel's total over what it paid, capped by the escrow) and the verifiers' share of it.
 */
function expectedRedeem(model: Channels, v: Voucher, by: Address, nodeId: number, bps: number) {
  const { request, receipt } = v
  if (request.node !== by) return { error: 'WrongNode', args: [request.node, by] } as const
  if (receipt.fee > request.maxFee) return { error: 'FeeAboveMax', args: [receipt.fee, request.maxFee] } as const
  const k = `${receipt.client}|${request.node}`
  const paid = model.paid.get(k) ?? 0n
  if (request.channelTotal <= paid) return { error: 'ChannelNotAhead', args: [request.channelTotal, paid] } as const
  const owed = request.channelTotal - paid
  const held = model.escrow.get(receipt.client) ?? 0n
  const debited = min(owed, held)
  const toVerifiers = (debited * BigInt(bps)) / 10_000n
  const apply = () => {
    model.paid.set(k, request.channelTotal)
    model.escrow.set(receipt.client, held - debited)
    model.claimable.set(by, (model.claimable.get(by) ?? 0n) + debited - toVerifiers)
    model.pot.set(nodeId, (model.pot.get(nodeId) ?? 0n) + toVerifiers)
  }
  return {
    event: { client: receipt.client, node: by, channelTotal: request.channelTotal, debited, shortfall: owed - debited, toVerifiers },
    apply,
  }
}

// ─── (a) redemption ────────────────────────────────────────────────────────────────────────────

describe('redeem debits exactly the channel increase, capped by the escrow, and splits it exactly', () => {
  const BPS = [0, 1, 3333, 10_000]
  const CASES = 5

  it.each(BPS)(
    'verifierShareBps %i: every redemption matches the model; no client is debited beyond the highest total it signed per node',
    async (bps) => {
      const seed = SEED + bps
      const r = random(seed)
      const f = await deployFixture({ verifierShareBps: bps })
      try {
        const { s, t } = contractsOf(f)
        const [admin] = f.senders
        for (const node of f.senders.slice(1, 3)) await registerOperator(f, node, 'inference')
        await admin!.write({ ...t, functionName: 'approve', args: [s.address, maxUint256] })

        await eachFromSnapshot(f, CASES, async (n, senders) => {
          const where = `seed ${seed}, bps ${bps}, case ${n}`
          const nodes = senders.slice(1, 3)
          const clients = senders.slice(3, 7)
          const settlementBalance = await f.contracts.token.read.balanceOf([s.address])
          const model: Channels = { paid: new Map(), escrow: new Map(), claimable: new Map(), pot: new Map() }
          // Escrows: empty, tiny or huge.
          for (const client of clients) {
            const amount = r.chance(0.2) ? 0n : 1n + r.logUniform(2n ** 86n)
            model.escrow.set(client.address, amount)
            if (amount > 0n) await admin!.write({ ...s, functionName: 'depositFor', args: [client.address, amount] })
          }
          // Each client signs 1–4 vouchers per node: totals that grow, repeat, fall back, jump, or sit at the escrow's edge.
          const signedMax = new Map<string, bigint>()
          const redemptions: {
            node: TxSender
            nodeId: number
            voucher: Voucher
            args: Awaited<ReturnType<typeof settleVouchers>>[number]['args']
          }[] = []
          let nonce = 0
          for (const [i, node] of nodes.entries()) {
            const vouchers: Voucher[] = []
            for (const client of clients) {
              let total = 0n
              for (let k = 1 + r.int(4); k > 0; k--) {
                const held = model.escrow.get(client.address)!
                total = r.pick([
                  total + 1n + r.logUniform(10n ** 20n),
                  total,
                  total > 0n ? total - 1n - r.logUniform(total - 1n) : 1n,
                  1n + r.logUniform(2n ** 100n),
                  held,
                  held + 1n,
                ])
                if (total === 0n) total = 1n
                const maxFee = r.logUniform(2n ** 95n)
                const fee = r.chance(0.1) ? maxFee + 1n : r.logUniform(maxFee)
                vouchers.push(await signVoucher(f, { signer: client, node: node.address, seed: nonce++, channelTotal: total, fee, maxFee }))
                const key = `${client.address}|${node.address}`
                if (fee <= maxFee) signedMax.set(key, max(signedMax.get(key) ?? 0n, total))
              }
            }
            for (const { voucher, args } of await settleVouchers(f, node, vouchers))
              redemptions.push({ node, nodeId: i + 1, voucher, args })
          }
          // Redeem in random order, some twice, some by the wrong node.
          const order = r.shuffle([...redemptions, ...r.subset(redemptions, 0.3)])
          const debited = new Map<string, bigint>()
          for (const [j, { node, nodeId, voucher, args }] of order.entries()) {
            const by = r.chance(0.1) ? nodes.find((x) => x !== node)! : node
            const expected = expectedRedeem(model, voucher, by.address, nodeId, bps)
            const outcome = await attempt(by.write({ ...s, functionName: 'redeem', args }))
            const step = `${where}, redemption ${j} (total ${voucher.request.channelTotal}, fee ${voucher.receipt.fee}/${voucher.request.maxFee})`
            if ('error' in expected) {
              expectOutcome(outcome, { error: expected.error!, args: expected.args! }, step)
              continue
            }
            const result = expectOutcome(outcome, { ok: true }, step)!
            const [redeemed] = parseEventLogs({ abi: settlementAbi, eventName: 'Redeemed', logs: result.receipt.logs })
            expect(redeemed!.args, `${step}: Redeemed`).toEqual(expected.event)
            expected.apply()
            const key = `${voucher.receipt.client}|${by.address}`
            debited.set(key, (debited.get(key) ?? 0n) + expected.event.debited)
          }

          // The chain agrees with the model; nobody was debited beyond what it signed per node.
          const pairs = clients.flatMap((c) => nodes.map((x) => [c.address, x.address] as const))
          const found = await inBatches<unknown>([
            ...clients.map((c) => async () => (await f.contracts.settlement.read.escrowOf([c.address])).balance),
            ...pairs.map(
              ([c, x]) =>
                () =>
                  f.contracts.settlement.read.channelPaid([c, x]),
            ),
            ...nodes.map((x) => () => f.contracts.settlement.read.claimable([x.address])),
            ...[1, 2].map((id) => () => f.contracts.settlement.read.verificationPot([id])),
            () => f.contracts.token.read.balanceOf([s.address]),
          ])
          expect(found.slice(0, 4), `${where}: escrows`).toEqual(clients.map((c) => model.escrow.get(c.address)))
          expect(found.slice(4, 12), `${where}: channels paid`).toEqual(pairs.map(([c, x]) => model.paid.get(`${c}|${x}`) ?? 0n))
          expect(found.slice(12, 14), `${where}: claimable`).toEqual(nodes.map((x) => model.claimable.get(x.address) ?? 0n))
          expect(found.slice(14, 16), `${where}: pots`).toEqual([1, 2].map((id) => model.pot.get(id) ?? 0n))
          for (const [key, amount] of debited) {
            expect(amount, `${where}: debited on ${key} ≤ the highest total signed`).toBeLessThanOrEqual(signedMax.get(key) ?? 0n)
          }
          const owedNow = sum(clients.map((c) => model.escrow.get(c.address)!)) + sum(found.slice(12, 16) as bigint[])
          expect(found[16], `${where}: the settlement holds escrows + claimable + pots`).toBe(settlementBalance + owedNow)
        })
      } finally {
        await f.close()
      }
    },
    120_000,
  )
})

// ─── (b) escrow ────────────────────────────────────────────────────────────────────────────────

describe('escrow follows deposits, redemptions and withdrawals', () => {
  it('matches a TypeScript model over 30 random sequences', async () => {
    const seed = SEED
    const r = random(seed)
    const f = await deployFixture()
    try {
      const { s } = contractsOf(f)
      await registerOperator(f, f.senders[1]!, 'inference')
      const clientIndices = [5, 6, 7, 8]
      // In the base state: each client signed six requests to node 1 (running totals growing by up to
      // 2,000 tokens), all answered in one finalized batch, none redeemed yet.
      const vouchers = new Map<Address, Awaited<ReturnType<typeof settleVouchers>>>()
      {
        const signed: Voucher[] = []
        for (const i of clientIndices) {
          let total = 0n
          for (let k = 0; k < 6; k++) {
            total += 1n + r.logUniform(2000n * TOKEN)
            signed.push(
              await signVoucher(f, {
                signer: f.senders[i]!,
                node: f.senders[1]!.address,
                seed: signed.length,
                channelTotal: total,
                fee: 1n,
              }),
            )
          }
        }
        for (const entry of await settleVouchers(f, f.senders[1]!, signed)) {
          const client = entry.voucher.receipt.client
          vouchers.set(client, [...(vouchers.get(client) ?? []), entry])
        }
      }
      const initial = await inBatches(clientIndices.map((i) => () => f.contracts.token.read.balanceOf([f.senders[i]!.address])))
      const settlementInitial = await f.contracts.token.read.balanceOf([s.address])

      await eachFromSnapshot(f, 30, async (n, senders) => {
        const clock = await Clock.start(f)
        const node = senders[1]!
        const clients = clientIndices.map((i) => senders[i]!)
        type Escrow = { balance: bigint; withdrawalAmount: bigint; withdrawalReadyAt: bigint }
        const model = new Map<Address, Escrow>(
          clients.map((c) => [c.address, { balance: 0n, withdrawalAmount: 0n, withdrawalReadyAt: 0n }]),
        )
        const wallet = new Map<Address, bigint>(clients.map((c, i) => [c.address, initial[i]!]))
        let settlementBalance = settlementInitial
        const channels: Channels = { paid: new Map(), escrow: new Map(), claimable: new Map(), pot: new Map() }
        const log: string[] = []

        for (let step = 0; step < 10; step++) {
          const where = () => `seed ${seed}, case ${n}, step ${step} (${log.join('; ')})`
          const client = r.pick(clients)
          const escrow = model.get(client.address)!
          const action = r.pick([
            'deposit',
            'depositFor',
            'request',
            'request',
            'withdraw',
            'withdraw',
            'redeem',
            'redeem',
            'time',
          ] as const)
          if (action === 'deposit' || action === 'depositFor') {
            const payer = action === 'deposit' ? client : r.pick(clients)
            const amount = r.chance(0.08) ? 0n : 1n + r.logUniform(10_000n * TOKEN)
            log.push(`${action} ${amount} to ${clients.indexOf(client)} from ${clients.indexOf(payer)}`)
            const outcome = await clock.send(() =>
              action === 'deposit'
                ? payer.write({ ...s, functionName: 'deposit', args: [amount] })
                : payer.write({ ...s, functionName: 'depositFor', args: [client.address, amount] }),
            )
            if (amount === 0n) expectOutcome(outcome, { error: 'ZeroAmount', args: [] }, where())
            else {
              expectOutcome(outcome, { ok: true }, where())
              escrow.balance += amount
              wallet.set(payer.address, wallet.get(payer.address)! - amount)
              settlementBalance += amount
            }
          } else if (action === 'request') {
            const amount = r.pick([
              0n,
              escrow.balance,
              escrow.balance + 1n,
              r.logUniform(escrow.balance),
              1n + r.logUniform(20_000n * TOKEN),
            ])
            log.push(`request ${amount} by ${clients.indexOf(client)}`)
            expectOutcome(
              await clock.send(() => client.write({ ...s, functionName: 'requestWithdrawal', args: [amount] })),
              { ok: true },
              where(),
            )
            escrow.withdrawalAmount = amount
            escrow.withdrawalReadyAt = amount === 0n ? 0n : BigInt(clock.now + WITHDRAWAL_DELAY)
          } else if (action === 'withdraw') {
            log.push(`withdraw by ${clients.indexOf(client)} at ${clock.now}`)
            const outcome = await clock.send(() => client.write({ ...s, functionName: 'withdraw', args: [] }))
            if (escrow.withdrawalAmount === 0n) expectOutcome(outcome, { error: 'NoWithdrawalRequested', args: [client.address] }, where())
            else if (BigInt(clock.now) < escrow.withdrawalReadyAt) {
              expectOutcome(outcome, { error: 'WithdrawalNotReady', args: [escrow.withdrawalReadyAt, BigInt(clock.now)] }, where())
            } else {
              const result = expectOutcome(outcome, { ok: true }, where())!
              const amount = min(escrow.withdrawalAmount, escrow.balance)
              escrow.balance -= amount
              escrow.withdrawalAmount = 0n
              escrow.withdrawalReadyAt = 0n
              wallet.set(client.address, wallet.get(client.address)! + amount)
              settlementBalance -= amount
              const [withdrawn] = parseEventLogs({ abi: settlementAbi, eventName: 'Withdrawn', logs: result.receipt.logs })
              expect(withdrawn!.args, `${where()}: Withdrawn`).toEqual({ client: client.address, amount, balance: escrow.balance })
            }
          } else if (action === 'redeem') {
            // The node redeems one of the client's vouchers: the channel's increase, capped by the balance.
            const { voucher, args } = r.pick(vouchers.get(client.address)!)
            for (const c of clients) channels.escrow.set(c.address, model.get(c.address)!.balance)
            const expected = expectedRedeem(channels, voucher, node.address, 1, 1000)
            log.push(`redeem total ${voucher.request.channelTotal} of ${clients.indexOf(client)}`)
            const outcome = await clock.send(() => node.write({ ...s, functionName: 'redeem', args }))
            if ('error' in expected) expectOutcome(outcome, { error: expected.error!, args: expected.args! }, where())
            else {
              const result = expectOutcome(outcome, { ok: true }, where())!
              const [redeemed] = parseEventLogs({ abi: settlementAbi, eventName: 'Redeemed', logs: result.receipt.logs })
              expect(redeemed!.args, `${where()}: Redeemed`).toEqual(expected.event)
              expected.apply()
              escrow.balance -= expected.event.debited
            }
          } else {
            // Move the clock, often to exactly one second before or at a pending withdrawal's time.
            const pending = [...model.values()].map((e) => Number(e.withdrawalReadyAt)).filter((at) => at > clock.now)
            const target = pending.length > 0 && r.chance(0.7) ? r.pick(pending) - r.int(2) : clock.now + r.pick([1, 10, WITHDRAWAL_DELAY])
            clock.advance(Math.max(0, target - clock.now))
            log.push(`time ${clock.now}`)
          }

          // The chain agrees with the model after every step.
          const found = await inBatches<unknown>([
            ...clients.map((c) => () => f.contracts.settlement.read.escrowOf([c.address])),
            ...clients.map((c) => () => f.contracts.settlement.read.availableEscrow([c.address])),
            ...clients.map((c) => () => f.contracts.token.read.balanceOf([c.address])),
            () => f.contracts.token.read.balanceOf([s.address]),
          ])
          const escrows = clients.map((c) => model.get(c.address)!)
          expect(found.slice(0, 4), `${where()}: escrowOf`).toEqual(escrows)
          expect(found.slice(4, 8), `${where()}: availableEscrow`).toEqual(
            escrows.map((e) => (e.withdrawalAmount >= e.balance ? 0n : e.balance - e.withdrawalAmount)),
          )
          expect(found.slice(8, 12), `${where()}: client token balances`).toEqual(clients.map((c) => wallet.get(c.address)))
          expect(found[12], `${where()}: settlement token balance`).toBe(settlementBalance)
        }
      })
    } finally {
      await f.close()
    }
  }, 300_000)
})

// ─── (c) staking ───────────────────────────────────────────────────────────────────────────────

describe('stake follows stake, unbond, withdraw and slash', () => {
  it('matches a TypeScript model over 30 random sequences', async () => {
    const seed = SEED + 1
    const r = random(seed)
    const f = await deployFixture()
    try {
      const { r: registry } = contractsOf(f)
      const slasherIndex = 9
      const recipientIndex = 8
      const operatorIndices = [1, 2, 3, 4]
      await f.senders[0]!.write({ ...registry, functionName: 'grantRole', args: [SLASHER_ROLE, f.senders[slasherIndex]!.address] })
      // Registered in the base state; the others register during the sequences.
      await registerOperator(f, f.senders[1]!, 'inference', 1500n * TOKEN)
      await registerOperator(f, f.senders[2]!, 'verifier', 250n * TOKEN)
      await registerOperator(f, f.senders[3]!, 'verifier', 100n * TOKEN)
      const roles = [Role.inference, Role.verifier] as const
      type Operator = { staked: bigint; unbonding: bigint; id: number; unbondingReadyAt: number; endpoint: string }
      const base = new Map<string, Operator>()
      for (const i of operatorIndices)
        for (const role of roles)
          base.set(`${i}:${role}`, { ...(await f.contracts.nodeRegistry.read.getOperator([f.senders[i]!.address, role])) })
      const baseWallets = await inBatches(f.senders.map((x) => () => f.contracts.token.read.balanceOf([x.address])))
      const baseRegistry = await f.contracts.token.read.balanceOf([registry.address])
      const baseRoster = await inBatches(roles.map((role) => () => f.contracts.nodeRegistry.read.operatorCount([role])))

      await eachFromSnapshot(f, 30, async (n, senders) => {
        const clock = await Clock.start(f)
        const model = new Map([...base].map(([key, op]) => [key, { ...op }]))
        const wallet = [...baseWallets]
        const roster = { [Role.inference]: Number(baseRoster[0]), [Role.verifier]: Number(baseRoster[1]) }
        let registryBalance = baseRegistry
        const log: string[] = []

        for (let step = 0; step < 10; step++) {
          const where = () => `seed ${seed}, case ${n}, step ${step} (${log.join('; ')})`
          const i = r.pick(operatorIndices)
          const sender = senders[i]!
          const role = r.pick(roles)
          const op = model.get(`${i}:${role}`)!
          const minimum = MIN_STAKE[role]
          const action = r.pick([
            'register',
            'stake',
            'stake',
            'unbond',
            'unbond',
            'withdraw',
            'withdraw',
            'slash',
            'slash',
            'time',
          ] as const)

          if (action === 'register') {
            const amount = r.pick([0n, minimum - 1n, minimum, minimum + r.logUniform(2000n * TOKEN)])
            log.push(`register ${i} as ${role} with ${amount}`)
            const outcome = await clock.send(() =>
              sender.write({ ...registry, functionName: 'register', args: [role, 'http://op', amount] }),
            )
            if (op.id !== 0) expectOutcome(outcome, { error: 'AlreadyRegistered', args: [sender.address, role] }, where())
            else if (amount < minimum) expectOutcome(outcome, { error: 'BelowMinimumStake', args: [role, minimum, amount] }, where())
            else {
              expectOutcome(outcome, { ok: true }, where())
              roster[role] += 1
              op.id = roster[role]
              op.endpoint = 'http://op'
              op.staked += amount
              wallet[i]! -= amount
              registryBalance += amount
            }
          } else if (action === 'stake') {
            const amount = r.chance(0.1) ? 0n : 1n + r.logUniform(1000n * TOKEN)
            log.push(`stake ${amount} by ${i} as ${role}`)
            const outcome = await clock.send(() => sender.write({ ...registry, functionName: 'stake', args: [role, amount] }))
            if (op.id === 0) expectOutcome(outcome, { error: 'NotRegistered', args: [sender.address, role] }, where())
            else if (amount === 0n) expectOutcome(outcome, { error: 'ZeroAmount', args: [] }, where())
            else {
              expectOutcome(outcome, { ok: true }, where())
              op.staked += amount
              wallet[i]! -= amount
              registryBalance += amount
            }
          } else if (action === 'unbond') {
            const amount = r.pick([
              0n,
              op.staked,
              op.staked + 1n,
              op.staked > minimum ? op.staked - minimum + 1n : 1n,
              1n + r.logUniform(op.staked > 0n ? op.staked - 1n : 0n),
            ])
            log.push(`unbond ${amount} by ${i} as ${role} at ${clock.now}`)
            const outcome = await clock.send(() => sender.write({ ...registry, functionName: 'requestUnbond', args: [role, amount] }))
            if (op.id === 0) expectOutcome(outcome, { error: 'NotRegistered', args: [sender.address, role] }, where())
            else if (amount === 0n) expectOutcome(outcome, { error: 'ZeroAmount', args: [] }, where())
            else if (amount > op.staked) expectOutcome(outcome, { error: 'InsufficientStake', args: [amount, op.staked] }, where())
            else {
              expectOutcome(outcome, { ok: true }, where())
              op.staked -= amount
              op.unbonding += amount
              op.unbondingReadyAt = clock.now + UNBONDING_DELAY
            }
          } else if (action === 'withdraw') {
            log.push(`withdraw by ${i} as ${role} at ${clock.now}`)
            const outcome = await clock.send(() => sender.write({ ...registry, functionName: 'withdraw', args: [role] }))
            if (op.id === 0) expectOutcome(outcome, { error: 'NotRegistered', args: [sender.address, role] }, where())
            else if (op.unbonding === 0n) expectOutcome(outcome, { error: 'NothingUnbonding', args: [sender.address, role] }, where())
            else if (clock.now < op.unbondingReadyAt) {
              expectOutcome(outcome, { error: 'StillUnbonding', args: [op.unbondingReadyAt, BigInt(clock.now)] }, where())
            } else {
              expectOutcome(outcome, { ok: true }, where())
              wallet[i]! += op.unbonding
              registryBalance -= op.unbonding
              op.unbonding = 0n
              op.unbondingReadyAt = 0
            }
          } else if (action === 'slash') {
            const slasherIs = r.chance(0.1) ? r.pick(operatorIndices) : slasherIndex
            const total = op.staked + op.unbonding
            const amount = r.pick([0n, op.staked, op.staked + 1n, total, total + r.logUniform(100n * TOKEN), r.logUniform(total)])
            log.push(`slash ${amount} of ${i} as ${role} by ${slasherIs}`)
            const outcome = await clock.send(() =>
              senders[slasherIs]!.write({
                ...registry,
                functionName: 'slash',
                args: [sender.address, role, amount, senders[recipientIndex]!.address],
              }),
            )
            if (slasherIs !== slasherIndex) {
              expectOutcome(
                outcome,
                { error: 'AccessControlUnauthorizedAccount', args: [senders[slasherIs]!.address, SLASHER_ROLE] },
                where(),
              )
            } else {
              const result = expectOutcome(outcome, { ok: true }, where())!
              const fromStaked = min(amount, op.staked)
              const fromUnbonding = min(amount - fromStaked, op.unbonding)
              op.staked -= fromStaked
              op.unbonding -= fromUnbonding
              wallet[recipientIndex]! += fromStaked + fromUnbonding
              registryBalance -= fromStaked + fromUnbonding
              const [slashed] = parseEventLogs({ abi: nodeRegistryAbi, eventName: 'Slashed', logs: result.receipt.logs })
              expect(slashed!.args.amount, `${where()}: amount slashed`).toBe(fromStaked + fromUnbonding)
            }
          } else {
            const pending = [...model.values()].map((o) => o.unbondingReadyAt).filter((at) => at > clock.now)
            const target = pending.length > 0 && r.chance(0.7) ? r.pick(pending) - r.int(2) : clock.now + r.pick([1, 100, UNBONDING_DELAY])
            clock.advance(Math.max(0, target - clock.now))
            log.push(`time ${clock.now}`)
          }

          // The chain agrees with the model after every step.
          const keys = operatorIndices.flatMap((k) => roles.map((role) => [k, role] as const))
          const found = await inBatches<unknown>([
            ...keys.map(
              ([k, role]) =>
                () =>
                  f.contracts.nodeRegistry.read.getOperator([senders[k]!.address, role]),
            ),
            ...keys.map(
              ([k, role]) =>
                () =>
                  f.contracts.nodeRegistry.read.isActive([senders[k]!.address, role]),
            ),
            ...keys.map(
              ([k, role]) =>
                () =>
                  f.contracts.nodeRegistry.read.activeId([senders[k]!.address, role]),
            ),
            ...senders.map((x) => () => f.contracts.token.read.balanceOf([x.address])),
            () => f.contracts.token.read.balanceOf([registry.address]),
          ])
          const expected = keys.map(([k, role]) => model.get(`${k}:${role}`)!)
          const active = expected.map((o, j) => o.staked > 0n && o.staked >= MIN_STAKE[keys[j]![1]])
          const m = keys.length
          expect(found.slice(0, m), `${where()}: getOperator`).toEqual(expected)
          expect(found.slice(m, 2 * m), `${where()}: isActive`).toEqual(active)
          expect(found.slice(2 * m, 3 * m), `${where()}: activeId`).toEqual(expected.map((o, j) => (active[j] ? o.id : 0)))
          expect(found.slice(3 * m, 3 * m + senders.length), `${where()}: token balances`).toEqual(wallet)
          expect(found[3 * m + senders.length], `${where()}: registry balance`).toBe(registryBalance)
          const sum = expected.reduce((acc, o) => acc + o.staked + o.unbonding, 0n)
          expect(registryBalance, `${where()}: registry holds Σ (staked + unbonding)`).toBe(sum)
        }
      })
    } finally {
      await f.close()
    }
  }, 300_000)
})

// ─── (d) exposure and verification pay ────────────────────────────────────────────────────────

describe('exposure stays within stake; finalize pays attesters from the pot', () => {
  it('matches a TypeScript model over 20 random sequences', async () => {
    const seed = SEED + 2
    const r = random(seed)
    const f = await deployFixture()
    try {
      const { s, r: registry } = contractsOf(f)
      const [, nodeSender, clientSender] = f.senders
      await registerOperator(f, nodeSender!, 'inference')
      for (const v of f.senders.slice(3, 6)) await registerOperator(f, v, 'verifier')
      // The base state funds node 1's verification pot: a client's voucher of 7 tokens, redeemed.
      await clientSender!.write({ ...s, functionName: 'deposit', args: [100n * TOKEN] })
      const [paid] = await settleVouchers(f, nodeSender!, [
        await signVoucher(f, { signer: clientSender!, node: nodeSender!.address, seed: 0, channelTotal: 7n * TOKEN, fee: TOKEN }),
      ])
      await nodeSender!.write({ ...s, functionName: 'redeem', args: paid!.args })
      const basePot = await f.contracts.settlement.read.verificationPot([1])
      const baseStake = (await f.contracts.nodeRegistry.read.getOperator([nodeSender!.address, Role.inference])).staked
      const baseCommits = (await f.contracts.settlement.read.exposureOf([nodeSender!.address])).commits
      const bps = BigInt(TEST_PARAMS.verifierShareBps!)

      await eachFromSnapshot(f, 20, async (n, senders) => {
        const clock = await Clock.start(f)
        const node = senders[1]!
        const verifiers = senders.slice(3, 6)
        type Open = { id: bigint; count: number; feeTotal: bigint; committedAt: number; attesters: Address[] }
        const open: Open[] = []
        let commits = baseCommits
        let openReceipts = 0
        let staked = baseStake
        let unbonding = 0n
        let pot = basePot
        const claimable = new Map<Address, bigint>(verifiers.map((v) => [v.address, 0n]))
        let batchCount = await f.contracts.settlement.read.batchCount()
        const log: string[] = []

        for (let step = 0; step < 14; step++) {
          const where = () => `seed ${seed}, case ${n}, step ${step} (${log.join('; ')})`
          const action = r.pick([
            'commit',
            'commit',
            'commit',
            'attest',
            'attest',
            'finalize',
            'finalize',
            'stake',
            'unbond',
            'time',
          ] as const)
          if (action === 'commit') {
            const room = Number(staked / SLASH) - openReceipts
            const count = r.pick([1, room, room + 1, 1 + r.int(120)].filter((c) => c >= 1))
            const sequence = r.chance(0.1) ? commits + r.pick([0, 2]) : commits + 1
            const feeTotal = r.logUniform(UINT96_MAX)
            log.push(`commit ${count} seq ${sequence}`)
            const outcome = await clock.send(() =>
              node.write({ ...s, functionName: 'commitBatch', args: [r.hex32(), count, feeTotal, sequence, ''] }),
            )
            const total = BigInt(openReceipts + count)
            if (staked < MIN_STAKE[Role.inference]) expectOutcome(outcome, { error: 'NotActiveNode', args: [node.address] }, where())
            else if (sequence !== commits + 1)
              expectOutcome(outcome, { error: 'WrongCommitSequence', args: [commits + 1, sequence] }, where())
            else if (total * SLASH > staked) expectOutcome(outcome, { error: 'ExposureAboveStake', args: [total, SLASH, staked] }, where())
            else {
              expectOutcome(outcome, { ok: true }, where())
              commits = sequence
              openReceipts += count
              batchCount += 1n
              open.push({ id: batchCount, count, feeTotal, committedAt: clock.now, attesters: [] })
            }
          } else if (action === 'attest') {
            const batch = open.length ? r.pick(open) : undefined
            if (!batch) continue
            const verifier = r.pick(verifiers)
            log.push(`attest ${batch.id} by ${verifiers.indexOf(verifier)}`)
            const bitmap = randomBitmap(r, batch.count)
            const outcome = await clock.send(() =>
              verifier.write({ ...s, functionName: 'attest', args: [batch.id, bitmap, guessedTags(bitmap)] }),
            )
            const endsAt = batch.committedAt + WINDOW
            if (clock.now >= endsAt) expectOutcome(outcome, { error: 'ChallengeWindowClosed', args: [batch.id, BigInt(endsAt)] }, where())
            else if (batch.attesters.includes(verifier.address))
              expectOutcome(outcome, { error: 'AlreadyAttested', args: [batch.id, verifier.address] }, where())
            else if (popcount(bitmap) < BigInt(batch.count)) {
              // Every leaf is assigned to every verifier here (minSampleRateBps 10,000): the first one left out is named.
              const missing = Array.from({ length: batch.count }, (_, i) => i).find(
                (i) => ((bitmap[i >> 8]! >> BigInt(i & 255)) & 1n) === 0n,
              )!
              expectOutcome(outcome, { error: 'SelectionNotCovered', args: [batch.id, verifier.address, BigInt(missing)] }, where())
            } else {
              const result = expectOutcome(outcome, { ok: true }, where())!
              const [attested] = parseEventLogs({ abi: settlementAbi, eventName: 'Attested', logs: result.receipt.logs })
              expect(BigInt(attested!.args.receipts), `${where()}: receipts attested`).toBe(popcount(bitmap))
              batch.attesters.push(verifier.address)
            }
          } else if (action === 'finalize') {
            const batch = open.length ? r.pick(open) : undefined
            if (!batch) continue
            log.push(`finalize ${batch.id}`)
            const outcome = await clock.send(() =>
              senders[9]!.write({ ...s, functionName: 'finalize', args: [batch.id, [...batch.attesters].sort(byAddress)] }),
            )
            const endsAt = batch.committedAt + WINDOW
            if (clock.now < endsAt) expectOutcome(outcome, { error: 'ChallengeWindowOpen', args: [batch.id, BigInt(endsAt)] }, where())
            else {
              const result = expectOutcome(outcome, { ok: true }, where())!
              // Equal shares of min(pot, feeTotal · share), whatever each attested.
              const pool = min(pot, (batch.feeTotal * bps) / 10_000n)
              const share = batch.attesters.length ? pool / BigInt(batch.attesters.length) : 0n
              for (const a of batch.attesters) claimable.set(a, claimable.get(a)! + share)
              // A batch nobody attested pays no one: the verifiers' share is burned from the pot.
              pot -= batch.attesters.length ? share * BigInt(batch.attesters.length) : pool
              openReceipts -= batch.count
              open.splice(open.indexOf(batch), 1)
              const [finalized] = parseEventLogs({ abi: settlementAbi, eventName: 'BatchFinalized', logs: result.receipt.logs })
              expect(finalized!.args.verifierAmount, `${where()}: verifier pay`).toBe(share * BigInt(batch.attesters.length))
            }
          } else if (action === 'stake' || action === 'unbond') {
            const amount = 1n + r.logUniform(300n * TOKEN)
            log.push(`${action} ${amount}`)
            const outcome = await clock.send(() =>
              node.write({ ...registry, functionName: action === 'stake' ? 'stake' : 'requestUnbond', args: [Role.inference, amount] }),
            )
            if (action === 'unbond' && amount > staked)
              expectOutcome(outcome, { error: 'InsufficientStake', args: [amount, staked] }, where())
            else {
              expectOutcome(outcome, { ok: true }, where())
              staked = action === 'stake' ? staked + amount : staked - amount
              if (action === 'unbond') unbonding += amount
            }
          } else {
            clock.advance(r.pick([1, 30, WINDOW - 1, WINDOW]))
            log.push(`time ${clock.now}`)
          }

          const found = await inBatches<unknown>([
            () => f.contracts.settlement.read.exposureOf([node.address]),
            () => f.contracts.settlement.read.verificationPot([1]),
            ...verifiers.map((v) => () => f.contracts.settlement.read.claimable([v.address])),
          ])
          expect(found[0], `${where()}: exposure`).toEqual({ commits, openReceipts })
          expect(found[1], `${where()}: pot`).toBe(pot)
          expect(found.slice(2), `${where()}: verifiers' claimable`).toEqual(verifiers.map((v) => claimable.get(v.address)))
          // The bound itself: every open receipt can be slashed in full from what is staked or still unbonding.
          expect(BigInt(openReceipts) * SLASH, `${where()}: exposure ≤ slashable stake`).toBeLessThanOrEqual(staked + unbonding)
        }
      })
    } finally {
      await f.close()
    }
  }, 120_000)
})
