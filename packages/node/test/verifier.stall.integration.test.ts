import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ChallengeStatus, settlementAbi } from '@verity/contracts'
import { mnistImage } from '@verity/runtime'
import { challengeInclusion, type InferReturnType, infer } from '@verity/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Devnet, startDevnet } from '../../cli/src/devnet/startDevnet.js'
import { type NodeFront, startNodeFront } from '../../protocol/test/hostileServers.js'
import { dataChallengeDelay } from '../src/dataChallengeRules.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

/**
 * A verifier against hostile and flaky nodes, over real HTTP: node 0 sits behind a tarpit that holds
 * the verifier's connections open; node 1 behind a proxy that goes down for a few seconds. The
 * verifier's fetches are bounded, batches are verified by a pool (one per node at a time) and a
 * failed batch is retried with backoff until its challenge window ends.
 */
describe('a verifier that cannot be stalled', () => {
  let net: Devnet
  const fronts: NodeFront[] = []
  const TARPIT_TIMEOUT_MS = 8000
  beforeAll(async () => {
    net = await startDevnet({
      dir: join(mkdtempSync(join(tmpdir(), 'verity-stall-')), 'net'),
      nodes: 2,
      // Counts receipts checked per batch exactly: no decoys (forced errors have their own tests).
      decoyRateBps: 0,
      verifiers: 1,
      window: 40,
      sampleRate: 1,
      batchSize: 4,
      batchAgeMs: 60_000,
      nodeFront: async (i) => {
        const front = await startNodeFront(i === 0 ? 'tarpit' : 'pass')
        fronts[i] = front
        return front
      },
      verifier: {
        retry: { firstDelayMs: 200, maxDelayMs: 1000 },
        fetchLimits: { batch: { timeoutMs: TARPIT_TIMEOUT_MS, maxBytes: 1 << 20 }, input: { timeoutMs: 2000, maxBytes: 1 << 20 } },
      },
    })
  })
  afterAll(async () => net?.stop())

  /** Four inferences at node `i` (straight to it, not through its front): one full batch. */
  async function fillBatch(i: number, offset: number): Promise<InferReturnType[]> {
    const results: InferReturnType[] = []
    for (let k = 0; k < 4; k++)
      results.push(
        await infer(net.client, {
          modelId: net.modelId,
          inputs: { Input3: mnistImage(net.mnist, offset + k) },
          node: net.nodes[i]!.node.localUrl(),
        }),
      )
    return results
  }
  const verifier = () => net.verifiers[0]!
  const batchOf = (node: number, nth = 0) =>
    verifier()
      .store.db.prepare('SELECT batch_id FROM batches WHERE lower(node) = lower(?) ORDER BY batch_id LIMIT 1 OFFSET ?')
      .get(net.nodes[node]!.node.address, nth) as { batch_id: number } | undefined

  it('attests an honest node while another holds its connections open, then verifies the tarpit once it answers', async () => {
    await fillBatch(0, 0)
    const stalled = (await until('the tarpit batch to be seen', () => batchOf(0))).batch_id
    // The verifier is now inside the tarpit's held connection.
    await until('the verifier to reach the tarpit', () =>
      fronts[0]!.requests.some((p) => p.startsWith('/v1/batches/')) ? true : undefined,
    )
    await fillBatch(1, 4)
    const honest = (await until('the honest batch to be seen', () => batchOf(1))).batch_id
    const done = await until('the honest batch to be attested', () => {
      const b = verifier().store.get(honest)
      return b?.state === 'done' ? b : undefined
    })
    expect(done).toMatchObject({ checked: 4, matched: 4, attempts: 0 })
    expect(done.attestTx).toMatch(/^0x[0-9a-f]{64}$/)
    // The tarpit's batch is still held: not done, not given up.
    expect(verifier().store.get(stalled)).toMatchObject({ state: 'new', attempts: 0 })

    // The tarpit's fetch times out (a typed error, recorded) and is retried; once the node answers, it is verified.
    const failed = await until('the tarpit fetch to time out', () => {
      const b = verifier().store.get(stalled)!
      return b.attempts > 0 ? b : undefined
    })
    expect(failed.error).toBe(`${fronts[0]!.url}/v1/batches/${failed.root} did not answer within ${TARPIT_TIMEOUT_MS} ms`)
    fronts[0]!.mode = 'pass'
    const verified = await until('the tarpit batch to be attested', () => {
      const b = verifier().store.get(stalled)!
      return b.state === 'done' ? b : undefined
    })
    expect(verified).toMatchObject({ checked: 4, matched: 4, error: null })
  })

  it('keeps retrying a batch whose node is down for a few seconds, and verifies it when it is back', async () => {
    await fronts[1]!.down()
    await fillBatch(1, 8)
    const batch = (await until('the batch to be seen', () => batchOf(1, 1))).batch_id
    const failing = await until('a failed attempt', () => {
      const b = verifier().store.get(batch)!
      return b.attempts >= 4 ? b : undefined
    })
    expect(failing.state).toBe('new')
    expect(failing.error).toContain('cannot be reached')
    await fronts[1]!.up()
    const verified = await until('the batch to be attested', () => {
      const b = verifier().store.get(batch)!
      return b.state === 'done' ? b : undefined
    })
    expect(verified).toMatchObject({ checked: 4, matched: 4, error: null })
    expect(verified.attempts).toBeGreaterThanOrEqual(4)
  })

  it('challenges a whole withheld batch by position; the honest node answers from its store, and the verifier re-executes the published leaves', async () => {
    // Node 1's front now answers 404 for its batches and proofs: nothing a challenge by receipt could use.
    const nodeUrl = net.nodes[1]!.node.localUrl()
    fronts[1]!.route = async (path) => (/^\/v1\/(batches\/|inferences\/.+\/proof)/.test(path) ? `${nodeUrl}/v1/withheld` : undefined)
    await fillBatch(1, 16)
    const batch = (await until('the withheld batch to be seen', () => batchOf(1, 2))).batch_id
    // The verifier retries the withheld batch until its data is due to be challenged, on the chain's
    // clock (`dataChallengeDelay` after the commit: 16 s of a 40 s window). Waiting that out is not
    // the point here: the chain's clock is moved to that moment once the verifier has tried and failed.
    const tried = await until('a failed attempt at the withheld batch', () => {
      const b = verifier().store.get(batch)!
      return b.attempts > 0 ? b : undefined
    })
    const dueAt = tried.committedAt + dataChallengeDelay(net.book.params)
    for (;;) {
      const now = Number((await net.chain.publicClient.getBlock({ blockTag: 'latest' })).timestamp)
      if (now >= dueAt) break
      await net.chain.increaseTime(dueAt - now)
    }
    const checked = await until(
      'the published leaves to be re-executed',
      () => {
        const row = verifier().store.db.prepare('SELECT COUNT(*) AS n, SUM(matched) AS ok FROM checks WHERE batch_id = ?').get(batch) as {
          n: number
          ok: number | null
        }
        return row.n === 4 ? row : undefined
      },
      90_000,
    )
    expect(checked).toEqual({ n: 4, ok: 4 })
    const settlement = { address: net.book.contracts.settlement, abi: settlementAbi } as const
    const client = net.chain.publicClient
    // Four availability challenges (sample rate 1), each answered by publishReceipt: rejected, the node paid the data bond.
    const published = await client.getContractEvents({
      ...settlement,
      eventName: 'ReceiptPublished',
      fromBlock: 0n,
      args: { batchId: BigInt(batch) },
    })
    expect(published.map((e) => e.args.receiptIndex).sort()).toEqual([0, 1, 2, 3])
    for (const e of published) {
      const entry = await client.readContract({ ...settlement, functionName: 'getChallenge', args: [e.args.challengeId!] })
      expect(entry).toMatchObject({ kind: 2, status: ChallengeStatus.rejected, bond: net.book.params.dataChallengeBond })
    }
    // Nobody could check the batch as served: it is not attested (its verifier share is burned at finalize).
    expect(await client.readContract({ ...settlement, functionName: 'hasAttested', args: [BigInt(batch), verifier().address] })).toBe(false)
    fronts[1]!.route = undefined
  })

  it("a client's inclusion challenge of a node-signed receipt: the honest node proves it committed, the bond pays its gas", async () => {
    const [answer] = await fillBatch(0, 24)
    const settlement = { address: net.book.contracts.settlement, abi: settlementAbi } as const
    const client = net.chain.publicClient
    const node = net.nodes[0]!.node.address
    const before = await client.readContract({ ...settlement, functionName: 'claimable', args: [node] })
    const { challengeId, bond } = await challengeInclusion(net.client, { receipt: answer!.receipt, signature: answer!.signature })
    expect(bond).toBe(net.book.params.dataChallengeBond)
    const proven = await until('the node to prove the receipt committed', async () => {
      const found = await client.getContractEvents({ ...settlement, eventName: 'InclusionProven', fromBlock: 0n, args: { challengeId } })
      return found[0]
    })
    expect(proven.args.refund).toBe(0n)
    const entry = await client.readContract({ ...settlement, functionName: 'getChallenge', args: [challengeId] })
    expect(entry).toMatchObject({ kind: 3, status: ChallengeStatus.rejected, node })
    expect(await client.readContract({ ...settlement, functionName: 'claimable', args: [node] })).toBeGreaterThanOrEqual(before + bond)
  })
})
