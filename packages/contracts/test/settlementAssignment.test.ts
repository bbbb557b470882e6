import { DERIVED_DEFAULTS } from '@verity/chain'
import { decoyCommitOf, decoyOutputHashOf, decoyPositions, NO_DECOYS_SALT } from '@verity/protocol'
import { BaseError, ContractFunctionRevertedError, createWalletClient, type Hex, http, keccak256, parseEventLogs, toHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assignedLeaves, bitmapOf, type SamplingPolicy, samplingRateBps, selectionDraws } from '../../node/src/selection.js'
import { settlementAbi } from '../src/index.js'
import { deployFixture, expectRevert, type Fixture, forgedReceipts, registerOperator, TOKEN, treeOf } from './fixture.js'
import { guessedAttestation, guessedTags } from './guessedTags.js'

// Verifiable assignment: at commit the contract fixes the node's sampling rate P and the number of
// verifiers V; the commit block's hash seeds each verifier's selection; `attest` refuses a bitmap that
// leaves out an assigned leaf. The TypeScript mirror (node/src/selection.ts) must agree exactly.

/** 50 %: with two verifiers each is assigned a leaf with probability q = 0.5 / (0.5 × 2) = 0.5. */
const FLOOR = 5_000
const DECOY_RATE = 2_500
const policy: SamplingPolicy = {
  baseRateBps: DERIVED_DEFAULTS.baseRateBps,
  newNodeRateBps: DERIVED_DEFAULTS.newNodeRateBps,
  maturityCommits: DERIVED_DEFAULTS.maturityCommits,
  overturnedRateBps: DERIVED_DEFAULTS.overturnedRateBps,
  maxRateBps: DERIVED_DEFAULTS.maxRateBps,
  receiptSlash: 10n * TOKEN,
}

/** A small deterministic generator (xorshift) for the random cases. */
function rng(seed: number) {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 2 ** 32
  }
}

/** The custom error a plain viem write reverted with. */
async function revertOf(action: Promise<unknown>): Promise<{ errorName: string | undefined; args: readonly unknown[] | undefined }> {
  const error = await action.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error, 'expected a revert').toBeInstanceOf(BaseError)
  const reverted = (error as BaseError).walk((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null
  return { errorName: reverted?.data?.errorName, args: reverted?.data?.args }
}

describe('Settlement: verifiable assignment', () => {
  let f: Fixture
  beforeAll(async () => {
    f = await deployFixture({ minSampleRateBps: FLOOR, decoyRateBps: DECOY_RATE, decoyReward: TOKEN })
  }, 120_000)
  afterAll(() => f?.close())
  const s = () => ({ address: f.book.contracts.settlement, abi: settlementAbi })
  const read = <T>(functionName: string, args: readonly unknown[]) =>
    f.chain.publicClient.readContract({ ...s(), functionName, args } as never) as Promise<T>

  it('samplingRateBps: the TypeScript rule equals the contract on random records', async () => {
    const r = rng(14)
    const cases = Array.from({ length: 200 }, () => ({
      stake: BigInt(Math.floor(r() * 3_000)) * TOKEN + BigInt(Math.floor(r() * 1e9)),
      openReceipts: Math.floor(r() * (r() < 0.2 ? 0 : 400)),
      commits: Math.floor(r() * 250),
      overturned: Math.floor(r() * (r() < 0.5 ? 3 : 40)),
    }))
    const onChain = await Promise.all(
      cases.map((c) => read<number>('samplingRateBps', [c.stake, BigInt(c.openReceipts), BigInt(c.commits), BigInt(c.overturned)])),
    )
    expect(onChain).toEqual(cases.map((c) => samplingRateBps(c, policy, FLOOR)))
    // The floor binds in this deployment; without it the rule spans the policy's range.
    expect(new Set(cases.map((c) => samplingRateBps(c, policy))).size).toBeGreaterThan(20)
  })

  it('selectionDraws: the TypeScript rule equals the contract on random (P, V, count, extra draw)', async () => {
    const r = rng(7)
    const word = () => BigInt(Math.floor(r() * 2 ** 52)) * BigInt(Math.floor(r() * 2 ** 52)) * BigInt(Math.floor(r() * 2 ** 52)) * 977n
    const cases = [
      [0, 3, 16, 0n],
      [10_000, 3, 16, 5n],
      [5_000, 0, 16, 5n],
      [9_999, 1, 16, 5n],
      [5_000, 1, 16, 5n],
      [40, 20, 1_024, (1n << 256n) - 1n],
      [40, 3, 0, 0n],
      ...Array.from({ length: 150 }, () => [
        Math.floor(r() * 10_001),
        Math.floor(r() * (r() < 0.5 ? 8 : 5_000)),
        Math.floor(r() * 5_000),
        word(),
      ]),
    ] as [number, number, number, bigint][]
    const onChain = await Promise.all(
      cases.map(([p, v, n, x]) => read<readonly [bigint, boolean]>('selectionDraws', [BigInt(p), BigInt(v), BigInt(n), x])),
    )
    expect(onChain.map(([draws, all]) => ({ draws: Number(draws), all }))).toEqual(
      cases.map(([p, v, n, x]) => selectionDraws({ rateBps: p, verifiers: v }, n, x)),
    )
    // Monotone in the rate (for one extra draw).
    for (const v of [1, 3, 20, 1_000]) {
      const draws = [0, 1, 40, 400, 5_000, 9_999, 10_000].map((p) => selectionDraws({ rateBps: p, verifiers: v }, 1_024, 12_345n).draws)
      expect([...draws].sort((a, b) => a - b)).toEqual(draws)
    }
  })

  describe('a batch', () => {
    let node: Fixture['senders'][number]
    let verifiers: Fixture['senders']
    let sequence = 0
    beforeAll(async () => {
      node = f.senders[1]!
      verifiers = [f.senders[2]!, f.senders[3]!]
      // Stake for the ~400 receipts these tests keep open (10 tokens reserved each).
      await registerOperator(f, node, 'inference', 10_000n * TOKEN)
      for (const v of verifiers) await registerOperator(f, v, 'verifier')
    })

    /** Commits a batch of `count` forged receipts (with `salt`'s decoys when given); its id and commit block hash. */
    async function commit(
      count: number,
      salt?: Hex,
      receipts = forgedReceipts(count, { node: node.address, client: f.senders[5]!.address, fee: 1n, tag: `b${sequence}` }),
    ) {
      const { tree } = treeOf(f, receipts, salt ? decoyCommitOf(salt) : undefined)
      sequence += 1
      const result = await node.write({ ...s(), functionName: 'commitBatch', args: [tree.root, count, BigInt(count), sequence, ''] })
      const [event] = parseEventLogs({ abi: settlementAbi, eventName: 'BatchCommitted', logs: result.receipt.logs })
      return { batchId: event!.args.batchId, blockHash: result.receipt.blockHash, blockNumber: result.receipt.blockNumber, tree, receipts }
    }

    it('stores P, V and the commit block; anyone anchors the seed; isAssigned equals the TypeScript selection', async () => {
      const batch = await commit(16)
      const exposure = await read<{ commits: number; openReceipts: number }>('exposureOf', [node.address])
      const [assignment, seedBefore] = await read<[{ commitBlock: bigint; rateBps: number; verifiers: number }, Hex]>('assignmentOf', [
        batch.batchId,
      ])
      const expected = samplingRateBps(
        { stake: 10_000n * TOKEN, openReceipts: exposure.openReceipts, commits: exposure.commits, overturned: 0 },
        policy,
        FLOOR,
      )
      expect(assignment).toEqual({ commitBlock: batch.blockNumber, rateBps: expected, verifiers: 2 })
      expect(seedBefore).toBe(`0x${'0'.repeat(64)}`)
      const anchored = await f.senders[9]!.write({ ...s(), functionName: 'anchorSeed', args: [batch.batchId] })
      const [event] = parseEventLogs({ abi: settlementAbi, eventName: 'SeedAnchored', logs: anchored.receipt.logs })
      expect(event!.args).toEqual({ batchId: batch.batchId, seed: batch.blockHash })
      for (const v of verifiers) {
        const mine = assignedLeaves(batch.blockHash, v.address, batch.batchId, 16, assignment)
        const onChain = await Promise.all(
          Array.from({ length: 16 }, (_, i) => read<boolean>('isAssigned', [batch.batchId, v.address, BigInt(i)])),
        )
        expect(onChain.flatMap((yes, i) => (yes ? [i] : []))).toEqual(mine)
      }
    })

    it("refuses a cherry-picked subset sent with plain viem and the verifier's own key, naming the first missing leaf", async () => {
      const account = privateKeyToAccount(f.chain.accounts[2]!.privateKey)
      const wallet = createWalletClient({ account, chain: f.chain.publicClient.chain, transport: http(f.chain.rpcUrl) })
      // A batch whose selection for this verifier has at least two leaves (retry on another batch otherwise).
      let batch = await commit(16)
      let mine: number[] = []
      for (;;) {
        const [assignment] = await read<[{ rateBps: number; verifiers: number }, Hex]>('assignmentOf', [batch.batchId])
        mine = assignedLeaves(batch.blockHash, account.address, batch.batchId, 16, assignment)
        if (mine.length >= 2) break
        batch = await commit(16)
      }
      // The subset it "knows" is right: every assigned leaf but the first.
      const cherry = bitmapOf(mine.slice(1), 16)
      const refused = await revertOf(
        wallet.writeContract({
          ...s(),
          functionName: 'attest',
          args: [batch.batchId, cherry, guessedTags(cherry)],
          chain: f.chain.publicClient.chain,
        }),
      )
      expect(refused).toEqual({ errorName: 'SelectionNotCovered', args: [batch.batchId, account.address, BigInt(mine[0]!)] })
      // Also refused: the complement of its selection (every leaf it was not assigned).
      const others = Array.from({ length: 16 }, (_, i) => i).filter((i) => !mine.includes(i))
      if (others.length > 0) {
        const refusedToo = await revertOf(
          wallet.writeContract({
            ...s(),
            functionName: 'attest',
            args: guessedAttestation(batch.batchId, bitmapOf(others, 16)),
            chain: f.chain.publicClient.chain,
          }),
        )
        expect(refusedToo.errorName).toBe('SelectionNotCovered')
      }
      expect(await read('hasAttested', [batch.batchId, account.address])).toBe(false)
      // Its whole selection (and more) is accepted.
      const hash = await wallet.writeContract({
        ...s(),
        functionName: 'attest',
        args: guessedAttestation(batch.batchId, bitmapOf([...mine, ...others.slice(0, 1)], 16)),
        chain: f.chain.publicClient.chain,
      })
      expect((await f.chain.publicClient.waitForTransactionReceipt({ hash })).status).toBe('success')
      expect(await read('hasAttested', [batch.batchId, account.address])).toBe(true)
    })

    it('lets a verifier leave out the assigned leaves it challenged itself, and only those', async () => {
      const [mineV, otherV] = verifiers as [Fixture['senders'][number], Fixture['senders'][number]]
      for (let attempt = 0; attempt < 20; attempt++) {
        const batch = await commit(16)
        const [assignment] = await read<[{ rateBps: number; verifiers: number }, Hex]>('assignmentOf', [batch.batchId])
        const mine = assignedLeaves(batch.blockHash, mineV.address, batch.batchId, 16, assignment)
        const theirs = assignedLeaves(batch.blockHash, otherV.address, batch.batchId, 16, assignment)
        // A leaf assigned to both, and each with at least one more.
        const shared = mine.find((i) => theirs.includes(i))
        if (shared === undefined || mine.length < 2 || theirs.length < 2) continue
        // The first verifier challenges the shared leaf's data (as for a decoy or unavailable input).
        await mineV.write({
          ...s(),
          functionName: 'challengeData',
          args: [batch.batchId, batch.receipts[shared]!, shared, batch.tree.proof(shared)],
        })
        // The other did not challenge it: leaving it out is refused, even though someone challenged it.
        await expectRevert(
          otherV.write({
            ...s(),
            functionName: 'attest',
            args: guessedAttestation(
              batch.batchId,
              bitmapOf(
                theirs.filter((i) => i !== shared),
                16,
              ),
            ),
          }),
          'SelectionNotCovered',
          [batch.batchId, otherV.address, BigInt(shared)],
        )
        const result = await mineV.write({
          ...s(),
          functionName: 'attest',
          args: guessedAttestation(
            batch.batchId,
            bitmapOf(
              mine.filter((i) => i !== shared),
              16,
            ),
          ),
        })
        expect(result.receipt.status).toBe('success')
        return
      }
      throw new Error('no batch assigned a leaf to both verifiers in 20 tries')
    })

    it('accepts a verifier with an empty selection as an unpaid attester (its quorum receipts): not counted, never listed for pay', async () => {
      // 1-leaf batches: each verifier is assigned the leaf with probability 0.5; wanted, one of each.
      for (let attempt = 0; attempt < 30; attempt++) {
        const batch = await commit(1)
        const [assignment] = await read<[{ rateBps: number; verifiers: number }, Hex]>('assignmentOf', [batch.batchId])
        const idle = verifiers.find((v) => assignedLeaves(batch.blockHash, v.address, batch.batchId, 1, assignment).length === 0)
        const assigned = verifiers.find((v) => v !== idle)!
        if (!idle || assignedLeaves(batch.blockHash, assigned.address, batch.batchId, 1, assignment).length === 0) continue
        const result = await idle.write({ ...s(), functionName: 'attest', args: [batch.batchId, [1n], guessedTags([1n])] })
        const [event] = parseEventLogs({ abi: settlementAbi, eventName: 'Attested', logs: result.receipt.logs })
        expect(event!.args).toMatchObject({ verifier: idle.address, receipts: 1, paid: false })
        expect(await read<boolean>('hasAttested', [batch.batchId, idle.address])).toBe(true)
        const paid = await assigned.write({ ...s(), functionName: 'attest', args: [batch.batchId, [1n], guessedTags([1n])] })
        expect(parseEventLogs({ abi: settlementAbi, eventName: 'Attested', logs: paid.receipt.logs })[0]!.args.paid).toBe(true)
        expect((await read<{ attesters: number }>('getBatch', [batch.batchId])).attesters).toBe(1)
        await f.chain.increaseTime(Number(f.book.params.challengeWindow) + 1)
        await node.write({ ...s(), functionName: 'revealDecoys', args: [batch.batchId, NO_DECOYS_SALT, batch.tree.receiptsRoot] })
        // The unpaid attester listed in place of the paid one is refused; the paid one alone settles it.
        await expectRevert(node.write({ ...s(), functionName: 'finalize', args: [batch.batchId, [idle.address]] }), 'NotAnAttester', [
          batch.batchId,
          idle.address,
        ])
        const done = await node.write({ ...s(), functionName: 'finalize', args: [batch.batchId, [assigned.address]] })
        expect(done.receipt.status).toBe('success')
        return
      }
      throw new Error('no batch had one verifier assigned and one idle in 30 tries')
    })

    it('counts V as the verifiers active at the commit: one unbonding below the minimum or slashed out is not counted', async () => {
      const registry = { address: f.book.contracts.nodeRegistry, abi: f.contracts.nodeRegistry.abi }
      const activeVerifiers = () =>
        f.chain.publicClient.readContract({ ...registry, functionName: 'activeCount', args: [2] }) as Promise<bigint>
      const third = f.senders[4]!
      await registerOperator(f, third, 'verifier')
      expect(await activeVerifiers()).toBe(3n)
      const a = await commit(2)
      expect((await read<[{ verifiers: number }, Hex]>('assignmentOf', [a.batchId]))[0].verifiers).toBe(3)
      // Unbonding 1 token leaves it below the 100-token minimum: inactive, not counted.
      await third.write({ ...registry, functionName: 'requestUnbond', args: [2, TOKEN] })
      expect(await activeVerifiers()).toBe(2n)
      const b = await commit(2)
      expect((await read<[{ verifiers: number }, Hex]>('assignmentOf', [b.batchId]))[0].verifiers).toBe(2)
      // Staking back makes it active again, once.
      await third.write({ ...registry, functionName: 'stake', args: [2, TOKEN] })
      await third.write({ ...registry, functionName: 'stake', args: [2, TOKEN] })
      expect(await activeVerifiers()).toBe(3n)
      await third.write({ ...registry, functionName: 'requestUnbond', args: [2, 101n * TOKEN] })
      expect(await activeVerifiers()).toBe(2n)
    })

    it('refuses once the seed can no longer be read, unless it was anchored in time', async () => {
      const late = await commit(4)
      const anchored = await commit(4)
      await f.senders[9]!.write({ ...s(), functionName: 'anchorSeed', args: [anchored.batchId] })
      await f.chain.mine(257)
      await expectRevert(f.senders[9]!.write({ ...s(), functionName: 'anchorSeed', args: [late.batchId] }), 'SeedExpired', [
        late.batchId,
        late.blockNumber,
      ])
      await expectRevert(
        verifiers[0]!.write({ ...s(), functionName: 'attest', args: [late.batchId, [15n], guessedTags([15n])] }),
        'SeedExpired',
      )
      const [assignment, seed] = await read<[{ rateBps: number; verifiers: number }, Hex]>('assignmentOf', [anchored.batchId])
      expect(seed).toBe(anchored.blockHash)
      const v = verifiers.find((x) => assignedLeaves(seed, x.address, anchored.batchId, 4, assignment).length > 0)
      if (v) {
        const result = await v.write({ ...s(), functionName: 'attest', args: [anchored.batchId, [15n], guessedTags([15n])] })
        expect(result.receipt.status).toBe('success')
      }
    })

    it('slashes a lazy verifier that attests its whole selection without re-executing, when a decoy is in it', async () => {
      // The lazy verifier: verifiers[1], with its own key and plain viem.
      const account = privateKeyToAccount(f.chain.accounts[3]!.privateKey)
      expect(account.address).toBe(verifiers[1]!.address)
      const wallet = createWalletClient({ account, chain: f.chain.publicClient.chain, transport: http(f.chain.rpcUrl) })
      // Batches of 8 leaves, 2 decoys (a present one at d0): committed until the lazy verifier's
      // selection holds d0 — it cannot tell a decoy from a receipt without re-executing.
      for (let attempt = 0; attempt < 30; attempt++) {
        const salt = keccak256(toHex(`assignment salt ${attempt}`))
        const [d0, d1] = decoyPositions(salt, 8, DECOY_RATE)
        const receipts = forgedReceipts(8, { node: node.address, client: f.senders[5]!.address, fee: 1n, tag: `lazy ${attempt}` })
        receipts[d0!.position] = { ...receipts[d0!.position]!, outputHash: decoyOutputHashOf(d0!.secret) }
        receipts[d1!.position] = { ...receipts[d1!.position]!, outputHash: decoyOutputHashOf(d1!.secret) }
        const batch = await commit(8, salt, receipts)
        const [assignment] = await read<[{ rateBps: number; verifiers: number }, Hex]>('assignmentOf', [batch.batchId])
        const mine = assignedLeaves(batch.blockHash, account.address, batch.batchId, 8, assignment)
        if (!mine.includes(d0!.position)) continue
        // The lazy verifier attests exactly its selection, with plain viem, re-executing nothing.
        const bitmap = bitmapOf(mine, 8)
        const hash = await wallet.writeContract({
          ...s(),
          functionName: 'attest',
          args: [batch.batchId, bitmap, guessedTags(bitmap)],
          chain: f.chain.publicClient.chain,
        })
        expect((await f.chain.publicClient.waitForTransactionReceipt({ hash })).status).toBe('success')
        await f.chain.increaseTime(101)
        await node.write({ ...s(), functionName: 'revealDecoys', args: [batch.batchId, salt, batch.tree.receiptsRoot] })
        const prover = f.senders[9]!
        await prover.write({
          ...s(),
          functionName: 'proveDecoy',
          args: [batch.batchId, 0, salt, receipts[d0!.position]!, batch.tree.proof(d0!.position)],
        })
        const slashed = await prover.write({
          ...s(),
          functionName: 'slashAttester',
          args: [batch.batchId, d0!.position, account.address, bitmap, guessedTags(bitmap)],
        })
        const [event] = parseEventLogs({ abi: settlementAbi, eventName: 'AttesterSlashed', logs: slashed.receipt.logs })
        expect(event!.args).toMatchObject({
          batchId: batch.batchId,
          verifier: account.address,
          receiptIndex: d0!.position,
          slashed: 20n * TOKEN,
        })
        return
      }
      throw new Error('no batch put a decoy in the lazy verifier’s selection in 30 tries')
    })
  })
})
