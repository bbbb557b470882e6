import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BatchStatus, bitmapHas, settlementAbi } from '@verity/contracts'
import { mnistImage } from '@verity/runtime'
import { infer } from '@verity/sdk'
import { createPublicClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Devnet, startDevnet } from '../../cli/src/devnet/startDevnet.js'
import { type NodeFront, startNodeFront } from '../../protocol/test/hostileServers.js'
import { LEVEL_SQL, summaryOf } from '../src/figures.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

/**
 * The dashboard's index against the chain, read back with plain viem. Node 0's batch is held by
 * its front until the batch is finalized (the indexer's fetch races the finalization); node 1's
 * front first serves node 0's receipts for its own batch (same count, another root).
 */
describe('the dashboard equals the chain', () => {
  let net: Devnet
  const fronts: NodeFront[] = []
  let release: () => void = () => {}
  const held = new Promise<void>((resolve) => {
    release = resolve
  })
  let forged: string | undefined
  beforeAll(async () => {
    net = await startDevnet({
      dir: join(mkdtempSync(join(tmpdir(), 'verity-indexer-')), 'net'),
      nodes: 2,
      verifiers: 1,
      window: 4,
      sampleRate: 1,
      batchSize: 4,
      batchAgeMs: 60_000,
      // Batches of exactly the receipts sent: no decoys (their own tests: decoys.test.ts, lazyVerifier.e2e).
      decoyRateBps: 0,
      nodeFront: async (i) => {
        const front = await startNodeFront()
        front.route =
          i === 0
            ? async (path) => (path.startsWith('/v1/batches/') ? held.then(() => undefined) : undefined)
            : async (path) => (path.startsWith('/v1/batches/') ? forged : undefined)
        fronts[i] = front
        return front
      },
    })
  })
  afterAll(async () => net?.stop())

  const fill = async (i: number, offset: number) => {
    const ids: string[] = []
    for (let k = 0; k < 4; k++)
      ids.push(
        (
          await infer(net.client, {
            modelId: net.modelId,
            inputs: { Input3: mnistImage(net.mnist, offset + k) },
            node: net.nodes[i]!.node.localUrl(),
          })
        ).inferenceId.toLowerCase(),
      )
    return ids
  }
  const store = () => net.indexer.store
  const batchRow = (node: number) =>
    store().get<{ batch_id: number; root: string; fetched: number; fetch_error: string | null }>(
      'SELECT batch_id, root, fetched, fetch_error FROM batches WHERE node = ?',
      net.nodes[node]!.node.address.toLowerCase(),
    )
  const levelOf = (id: string) => store().get<{ level: string }>(`SELECT ${LEVEL_SQL} AS level FROM inferences WHERE id = ?`, id)?.level

  it('indexes a batch finalized while its receipts were being fetched as FINAL', async () => {
    const ids = await fill(0, 0)
    const batch = await until('node 0’s batch to be indexed', () => batchRow(0))
    expect(batch.fetched).toBe(0)
    await until('the batch to be finalized on-chain', async () => {
      const b = await net.chain.publicClient.readContract({
        address: net.book.contracts.settlement,
        abi: settlementAbi,
        functionName: 'getBatch',
        args: [BigInt(batch.batch_id)],
      })
      return b.status === BatchStatus.finalized
    })
    await until(
      'the indexer to see the finalization',
      () =>
        store().get<{ f: number | null }>('SELECT finalized_at_ms AS f FROM batches WHERE batch_id = ?', batch.batch_id)?.f ?? undefined,
    )
    release()
    await until('the batch’s receipts to be fetched', () => batchRow(0)?.fetched === 1)
    expect(ids.map(levelOf)).toEqual(['FINAL', 'FINAL', 'FINAL', 'FINAL'])
  })

  it('refuses a batch whose served receipts do not rebuild its on-chain root (another node’s receipts)', async () => {
    const victim = batchRow(0)!
    forged = `${net.nodes[0]!.node.localUrl()}/v1/batches/${victim.root}`
    const ids = await fill(1, 4)
    const refused = await until('the forged batch to be refused', () => {
      const b = batchRow(1)
      return b?.fetch_error ? b : undefined
    })
    expect(refused.fetched).toBe(0)
    expect(refused.fetch_error).toMatch(/the served receipts hash to root 0x[0-9a-f]{64}, not the committed 0x[0-9a-f]{64}/)
    // Node 0's receipts stay where the chain put them.
    expect(
      store().all<{ batch_id: number }>(
        'SELECT DISTINCT batch_id FROM inferences WHERE node = ?',
        net.nodes[0]!.node.address.toLowerCase(),
      ),
    ).toEqual([{ batch_id: victim.batch_id }])
    forged = undefined
    await until('node 1’s batch to be fetched', () => batchRow(1)?.fetched === 1)
    expect(
      new Set(
        store()
          .all<{ id: string }>('SELECT id FROM inferences WHERE batch_id = ?', refused.batch_id)
          .map((r) => r.id),
      ),
    ).toEqual(new Set(ids))
  })

  it('counts receipts by level and fees exactly as the chain does, read back with plain viem', async () => {
    const reader = createPublicClient({ transport: http(net.chain.rpcUrl) })
    const events = async <
      N extends
        | 'BatchCommitted'
        | 'Attested'
        | 'ChallengeOpened'
        | 'BatchFinalized'
        | 'ReceiptOverturned'
        | 'ChallengeRejected'
        | 'ChallengeRedundant'
        | 'ChallengeExpired'
        | 'Redeemed',
    >(
      eventName: N,
    ) => reader.getContractEvents({ address: net.book.contracts.settlement, abi: settlementAbi, eventName, fromBlock: 0n })
    await until('every batch to settle on-chain', async () => {
      const [committed, finalized] = await Promise.all([events('BatchCommitted'), events('BatchFinalized')])
      return committed.length > 0 && committed.length === finalized.length
    })
    // Then the nodes redeem their clients' vouchers: wait until no redemption is left to come.
    let seen = -1
    await until('the redemptions to settle', async () => {
      const count = (await events('Redeemed')).length
      const settled = count > 0 && count === seen
      seen = count
      if (!settled) await new Promise((r) => setTimeout(r, 1500))
      return settled
    })
    await net.indexer.caughtUp()
    const redeemed = await events('Redeemed')
    const [committed, attested, opened, finalized, overturned, rejected, redundant, expired] = await Promise.all([
      events('BatchCommitted'),
      events('Attested'),
      events('ChallengeOpened'),
      events('BatchFinalized'),
      events('ReceiptOverturned'),
      events('ChallengeRejected'),
      events('ChallengeRedundant'),
      events('ChallengeExpired'),
    ])
    const closed = new Set([...overturned, ...rejected, ...redundant, ...expired].map((e) => e.args.challengeId))
    const chainLevels: Record<string, number> = {}
    for (const c of committed) {
      const batchId = c.args.batchId!
      for (let index = 0; index < c.args.count!; index++) {
        const here = (e: { args: { batchId?: bigint | undefined; receiptIndex?: number | undefined } }) =>
          e.args.batchId === batchId && e.args.receiptIndex === index
        const level = overturned.some(here)
          ? 'OVERTURNED'
          : finalized.some((f) => f.args.batchId === batchId)
            ? 'FINAL'
            : opened.some((o) => here(o) && !closed.has(o.args.challengeId))
              ? 'DISPUTED'
              : attested.some((a) => a.args.batchId === batchId && bitmapHas(a.args.bitmap!, index))
                ? 'ATTESTED'
                : 'COMMITTED'
        chainLevels[level] = (chainLevels[level] ?? 0) + 1
      }
    }
    const dashboardLevels = Object.fromEntries(
      store()
        .all<{ level: string; n: number }>(
          `SELECT ${LEVEL_SQL} AS level, COUNT(*) AS n FROM inferences WHERE batch_id IS NOT NULL GROUP BY level`,
        )
        .map((r) => [r.level, r.n]),
    )
    expect(dashboardLevels).toEqual(chainLevels)
    expect(chainLevels.FINAL).toBe(8)
    const sum = (xs: bigint[]) => xs.reduce((a, b) => a + b, 0n)
    const summary = summaryOf(store())
    expect(summary.fees).toBe(String(sum(redeemed.map((e) => e.args.debited!)) - sum(overturned.map((e) => e.args.refund!))))
    expect(summary.feesPaid).toBe(String(sum(finalized.map((e) => e.args.nodeAmount! + e.args.verifierAmount!))))
  })
})
