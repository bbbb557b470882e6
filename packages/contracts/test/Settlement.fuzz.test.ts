import { ContractRevertError, TxSender, type WriteResult } from '@verity/chain'
import { seededRandom } from '@verity/runtime'
import { type Address, type Hex, keccak256, maxUint256, parseEventLogs, toBytes } from 'viem'
import { describe, expect, it } from 'vitest'
import { nodeRegistryAbi, Role, settlementAbi } from '../src/index.js'
import { deployFixture, type Fixture, registerOperator, TEST_PARAMS, TOKEN } from './fixture.js'

/**
 * Fuzz tests of the Settlement and NodeRegistry arithmetic on the embedded EVM: fee splits at
 * finalization, escrow accounting and staking, each against a TypeScript model. Every case runs
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
  }
}
type Random = ReturnType<typeof random>

// ─── chain helpers ─────────────────────────────────────────────────────────────────────────────

const byAddress = (a: Address, b: Address) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0)
const min = (a: bigint, b: bigint) => (a < b ? a : b)

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
  const density = r.pick([0.002, 0.05, 0.3, 0.7, 1])
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

// ─── (a) fee splits ────────────────────────────────────────────────────────────────────────────

describe('finalize splits the fees exactly', () => {
  const BPS = [0, 1, 1000, 3333, 9999, 10_000]
  const CASES = 10

  it.each(BPS)(
    'verifierShareBps %i: each attester gets floor(pool·c/total), the node the rest, the sum is the fee collected',
    async (bps) => {
      const seed = SEED + bps
      const r = random(seed)
      const f = await deployFixture({ verifierShareBps: bps })
      try {
        const { s, t } = contractsOf(f)
        const [admin, node] = f.senders
        await registerOperator(f, node!, 'inference')
        for (const verifier of f.senders.slice(2, 6))
          await registerOperator(f, verifier, 'verifier', 100n * TOKEN + r.logUniform(1000n * TOKEN))
        await admin!.write({ ...t, functionName: 'approve', args: [s.address, maxUint256] })

        await eachFromSnapshot(f, CASES, async (n, senders) => {
          const where = `seed ${seed}, bps ${bps}, case ${n}`
          const [depositor, nodeSender] = senders
          const verifiers = senders.slice(2, 6)
          const clients = senders.slice(6, 10)
          const settlementBalance = await f.contracts.token.read.balanceOf([s.address])

          // Escrows: empty, tiny or huge.
          const escrow = new Map<Address, bigint>()
          for (const client of clients) {
            const amount = r.chance(0.2) ? 0n : 1n + r.logUniform(2n ** 86n)
            escrow.set(client.address, amount)
            if (amount > 0n) await depositor!.write({ ...s, functionName: 'depositFor', args: [client.address, amount] })
          }
          // Debits: at, just under, just over or far from each escrow.
          const debited = r.subset(clients, 0.6)
          if (debited.length === 0) debited.push(r.pick(clients))
          const debits = debited
            .map((client) => {
              const held = escrow.get(client.address)!
              const amount = r.pick([
                held,
                held > 0n ? held - 1n : 0n,
                held + 1n,
                held + r.logUniform(10n ** 20n),
                r.logUniform(2n ** 94n - 1n),
              ])
              return { client: client.address, amount }
            })
            .sort((a, b) => byAddress(a.client, b.client))
          const feeTotal = debits.reduce((sum, d) => sum + d.amount, 0n)
          const fee = debits.reduce((sum, d) => sum + min(d.amount, escrow.get(d.client)!), 0n)
          const count = r.pick([1, 2, 255, 256, 257, 512, 1 + r.int(700)])
          const commit = await nodeSender!.write({
            ...s,
            functionName: 'commitBatch',
            args: [r.hex32(), count, feeTotal, 'ipfs://batch', debits],
          })
          const [committed] = parseEventLogs({ abi: settlementAbi, eventName: 'BatchCommitted', logs: commit.receipt.logs })
          expect(committed!.args.feeCollected, `${where}: fee collected`).toBe(fee)
          const batchId = committed!.args.batchId

          // Attestations by 0–4 verifiers over random bitmaps.
          const attesting = r.chance(0.1) ? [] : r.subset(verifiers, 0.5)
          if (attesting.length === 0 && r.chance(0.8)) attesting.push(r.pick(verifiers))
          const receipts = new Map<Address, bigint>()
          for (const verifier of attesting) {
            const bitmap = randomBitmap(r, count)
            const result = await verifier.write({ ...s, functionName: 'attest', args: [batchId, bitmap] })
            const [attested] = parseEventLogs({ abi: settlementAbi, eventName: 'Attested', logs: result.receipt.logs })
            expect(BigInt(attested!.args.receipts), `${where}: receipts attested by ${verifier.address}`).toBe(popcount(bitmap))
            receipts.set(verifier.address, popcount(bitmap))
          }
          const total = [...receipts.values()].reduce((sum, c) => sum + c, 0n)
          const attesters = [...receipts.keys()].sort(byAddress)
          await f.chain.increaseTime(WINDOW + r.int(500))

          // A wrong attester list first, now and then: it must not settle anything.
          const finalizer = r.pick(senders)
          if (attesters.length > 0 && r.chance(0.4)) {
            const kind = r.int(3)
            const outsider = verifiers.map((v) => v.address).find((a) => !receipts.has(a))
            if (kind === 0) {
              const dropped = r.int(attesters.length)
              expectOutcome(
                await attempt(
                  finalizer.write({ ...s, functionName: 'finalize', args: [batchId, attesters.filter((_, i) => i !== dropped)] }),
                ),
                { error: 'AttestersMismatch', args: [total, total - receipts.get(attesters[dropped]!)!] },
                `${where}: finalize without attester ${dropped}`,
              )
            } else if (kind === 1 && attesters.length > 1) {
              expectOutcome(
                await attempt(finalizer.write({ ...s, functionName: 'finalize', args: [batchId, [...attesters].reverse()] })),
                { error: 'AttestersNotSorted', args: [1n] },
                `${where}: finalize with attesters in descending order`,
              )
            } else if (outsider) {
              const list = [...attesters, outsider].sort(byAddress)
              expectOutcome(
                await attempt(finalizer.write({ ...s, functionName: 'finalize', args: [batchId, list] })),
                { error: 'NotAnAttester', args: [batchId, outsider] },
                `${where}: finalize with a verifier that did not attest`,
              )
            }
          }

          const result = await finalizer.write({ ...s, functionName: 'finalize', args: [batchId, attesters] })
          const pool = total === 0n ? 0n : (fee * BigInt(bps)) / 10_000n
          const shares = new Map(attesters.map((a) => [a, (pool * receipts.get(a)!) / total]))
          const paid = [...shares.values()].reduce((sum, x) => sum + x, 0n)
          const [finalized] = parseEventLogs({ abi: settlementAbi, eventName: 'BatchFinalized', logs: result.receipt.logs })
          expect(finalized!.args, `${where}: BatchFinalized`).toEqual({
            batchId,
            node: nodeSender!.address,
            nodeAmount: fee - paid,
            verifierAmount: paid,
          })
          expect(paid, `${where}: verifiers get at most the pool`).toBeLessThanOrEqual(pool)

          const accounts = [nodeSender!.address, ...verifiers.map((v) => v.address)]
          const credited = await inBatches(accounts.map((a) => () => f.contracts.settlement.read.claimable([a])))
          const expected = accounts.map((a) => (a === nodeSender!.address ? fee - paid : (shares.get(a) ?? 0n)))
          expect(credited, `${where}: claimable of node and verifiers (pool ${pool}, receipts ${[...receipts.values()]})`).toEqual(expected)
          expect(
            credited.reduce((sum, x) => sum + x, 0n),
            `${where}: credits add up to the fee collected`,
          ).toBe(fee)
          const left = await inBatches(verifiers.map((v) => () => f.contracts.settlement.read.attestationOf([batchId, v.address])))
          expect(left, `${where}: attestation records cleared`).toEqual(verifiers.map(() => 0n))
          expect((await f.contracts.settlement.read.getBatch([batchId])).status, `${where}: status`).toBe(3)

          // Every credit is claimable exactly once; the settlement keeps only the escrow left.
          for (const [i, sender] of [nodeSender!, ...verifiers].entries()) {
            const outcome = await attempt(sender.write({ ...s, functionName: 'claim', args: [] }))
            if (credited[i] === 0n) expectOutcome(outcome, { error: 'NothingToClaim', args: [sender.address] }, `${where}: claim`)
            else expectOutcome(outcome, { ok: true }, `${where}: claim of ${credited[i]}`)
          }
          const escrowLeft = [...escrow.values()].reduce((sum, x) => sum + x, 0n) - fee
          expect(await f.contracts.token.read.balanceOf([s.address]), `${where}: settlement balance`).toBe(settlementBalance + escrowLeft)
        })
      } finally {
        await f.close()
      }
    },
    300_000,
  )
})

// ─── (b) escrow ────────────────────────────────────────────────────────────────────────────────

describe('escrow follows deposits, debits and withdrawals', () => {
  it('matches a TypeScript model over 60 random sequences', async () => {
    const seed = SEED
    const r = random(seed)
    const f = await deployFixture()
    try {
      const { s } = contractsOf(f)
      await registerOperator(f, f.senders[1]!, 'inference')
      const clientIndices = [5, 6, 7, 8]
      const initial = await inBatches(clientIndices.map((i) => () => f.contracts.token.read.balanceOf([f.senders[i]!.address])))
      const settlementInitial = await f.contracts.token.read.balanceOf([s.address])

      await eachFromSnapshot(f, 60, async (n, senders) => {
        const clock = await Clock.start(f)
        const node = senders[1]!
        const clients = clientIndices.map((i) => senders[i]!)
        type Escrow = { balance: bigint; withdrawalAmount: bigint; withdrawalReadyAt: bigint }
        const model = new Map<Address, Escrow>(
          clients.map((c) => [c.address, { balance: 0n, withdrawalAmount: 0n, withdrawalReadyAt: 0n }]),
        )
        const wallet = new Map<Address, bigint>(clients.map((c, i) => [c.address, initial[i]!]))
        let settlementBalance = settlementInitial
        let batches = 0n
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
            'commit',
            'commit',
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
          } else if (action === 'commit') {
            const debited = r.subset(clients, 0.5).sort((a, b) => byAddress(a.address, b.address))
            const debits = debited.map((c) => {
              const held = model.get(c.address)!.balance
              const amount = r.pick([
                0n,
                held,
                held + 1n,
                held > 0n ? held - 1n : 0n,
                r.logUniform(held),
                held + r.logUniform(10_000n * TOKEN),
              ])
              return { client: c.address, amount: min(amount, UINT96_MAX / 8n) }
            })
            const feeTotal = debits.reduce((sum, d) => sum + d.amount, 0n)
            log.push(`commit ${debits.map((d) => `${clients.findIndex((c) => c.address === d.client)}:${d.amount}`).join(',')}`)
            const result = expectOutcome(
              await clock.send(() =>
                node.write({ ...s, functionName: 'commitBatch', args: [r.hex32(), 1 + r.int(300), feeTotal, 'ipfs://batch', debits] }),
              ),
              { ok: true },
              where(),
            )!
            batches += 1n
            const shortfalls: { batchId: bigint; client: Address; debited: bigint; missing: bigint }[] = []
            let collected = 0n
            for (const debit of debits) {
              const entry = model.get(debit.client)!
              const taken = min(debit.amount, entry.balance)
              entry.balance -= taken
              collected += taken
              if (taken < debit.amount)
                shortfalls.push({ batchId: batches, client: debit.client, debited: taken, missing: debit.amount - taken })
            }
            const events = parseEventLogs({ abi: settlementAbi, eventName: 'EscrowShortfall', logs: result.receipt.logs })
            expect(
              events.map((e) => e.args),
              `${where()}: EscrowShortfall events`,
            ).toEqual(shortfalls)
            const [committed] = parseEventLogs({ abi: settlementAbi, eventName: 'BatchCommitted', logs: result.receipt.logs })
            expect([committed!.args.batchId, committed!.args.feeTotal, committed!.args.feeCollected], `${where()}: BatchCommitted`).toEqual(
              [batches, feeTotal, collected],
            )
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
  it('matches a TypeScript model over 60 random sequences', async () => {
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

      await eachFromSnapshot(f, 60, async (n, senders) => {
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
