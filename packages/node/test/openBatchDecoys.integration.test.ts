import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type AddressBook, deployVerity, type EmbeddedChain, startEmbeddedChain, TxSender } from '@verity/chain'
import {
  buildBatchTree,
  decoyCommitOf,
  decoyOutputHashOf,
  decoyPositions,
  decoySecretOf,
  hashReceipt,
  inputsToWire,
  receiptFromWire,
  settlementAbi,
} from '@verity/contracts'
import { tensorsHash } from '@verity/runtime'
import type { Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Batcher, decoysNeeded } from '../src/batcher.js'
import { createDecoyClientPool } from '../src/decoyClientPool.js'
import { createDecoyFactory } from '../src/decoyFactory.js'
import { ReceiptStore } from '../src/receiptStore.js'
import { mnist8, signedInfer } from './inferFixture.js'
import { stakeInferenceNode } from './stakedNode.js'

const TOKEN = 10n ** 18n
const RATE = 2500
const idOf = (image: number) => `0x${(image + 1).toString(16).padStart(64, '0')}` as Hex

/**
 * Decoys made while their batch is open (docs/protocol.md, "Decoys"): each is made when the open
 * batch first needs it and stored at once, so it enters the receipts feed between real receipts with
 * its own times; the batch is cut with exactly the decoys it holds, where its salt puts them; and a
 * node restarted on the same database keeps its open batch's salt and decoys.
 */
describe('decoys of the open batch', () => {
  let chain: EmbeddedChain
  let book: AddressBook
  let dir: string

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verity-open-decoys-'))
    chain = await startEmbeddedChain({ accounts: 3 })
    book = await deployVerity({
      chain,
      deployer: chain.accounts[0]!.privateKey,
      params: {
        challengeWindow: 60,
        maxDisputeDuration: 120,
        unbondingDelay: 600,
        escrowWithdrawalDelay: 300,
        dataResponseTime: 30,
        slashAmount: TOKEN,
        // A high rate: a batch of a few receipts hides several decoys.
        decoyRateBps: RATE,
      },
    })
    await stakeInferenceNode(chain, book)
  })

  afterAll(async () => {
    await chain?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('makes each decoy when needed, between real receipts, and cuts the batch with exactly those (restart included)', async () => {
    const key = chain.accounts[1]!.privateKey
    const db = join(dir, 'node.sqlite')
    const { model } = mnist8()
    const domain = { chainId: chain.chainId, settlement: book.contracts.settlement }
    const batcherOf = (store: ReceiptStore) =>
      new Batcher({
        chain,
        book,
        store,
        sender: new TxSender({ chain, account: key }),
        dataUrlOf: (root: Hex) => `http://node/v1/batches/${root}`,
        maxSize: 12,
        // Cut by size only, and no decoy by time: each decoy comes from the count of real receipts.
        maxAgeMs: 1e9,
        finalize: false,
        log: () => {},
        makeDecoy: createDecoyFactory({
          nodeKey: key,
          domain,
          modelFor: async () => model,
          inputOf: (h) => store.getInput(h),
          clientFor: (fee, batchKey) => poolOf(store).take(fee, batchKey),
        }),
      })
    // The node's decoy clients (their funding and ageing are decoyClients.integration.test's): two set ready by hand.
    const pools = new Map<ReceiptStore, ReturnType<typeof createDecoyClientPool>>()
    const poolOf = (store: ReceiptStore) => {
      let pool = pools.get(store)
      if (!pool) {
        pool = createDecoyClientPool({
          chain,
          book,
          store,
          funder: chain.accounts[0]!.privateKey,
          price: 10n,
          node: privateKeyToAccount(key).address,
          domain,
          model: async () => model,
          postInfer: async () => {
            throw new Error('no canaries here')
          },
          log: () => {},
        })
        pools.set(store, pool)
      }
      return pool
    }
    const ready = [generatePrivateKey(), generatePrivateKey()]
    const receive = async (store: ReceiptStore, image: number, executedAtMs: number) => {
      const { request, signature, inputs } = await signedInfer(image, {}, undefined, executedAtMs)
      const id = idOf(image)
      store.insertInference(
        {
          id,
          requestHash: id,
          client: '0x2222222222222222222222222222222222222222',
          nonce: request.nonce.toString(),
          modelId: request.modelId,
          inputHash: tensorsHash(inputs),
          outputHash: `0x${'00'.repeat(32)}`,
          fee: '10',
          channelTotal: String(10 * (image + 1)),
          mode: request.mode,
          issuedAt: Math.floor(executedAtMs / 1000),
          executedAtMs,
          receiptJson: '{}',
          signature,
          requestJson: JSON.stringify({ deadline: String(Math.floor(executedAtMs / 1000) + 60) }),
          clientSignature: signature,
          outputsJson: '{}',
          computeMs: 1.5,
        },
        JSON.stringify(inputsToWire(model, inputs)),
      )
    }

    let store = new ReceiptStore(db)
    let batcher = batcherOf(store)
    poolOf(store)
    for (const [i, k] of ready.entries())
      store.db
        .prepare("INSERT INTO decoy_clients (address, key, canaries, state, created_at_ms) VALUES (?, ?, 0, 'ready', ?)")
        .run(privateKeyToAccount(k).address.toLowerCase(), k, i)
    const [clientA, clientB] = ready.map((k) => privateKeyToAccount(k).address.toLowerCase())
    const t0 = Date.now() - 60_000
    const held: number[] = []
    for (let i = 0; i < 7; i++) {
      await receive(store, i, t0 + i)
      held.push(await batcher.makeDueDecoys(t0 + i))
      // Never more than the open batch needs, and at most one behind it (the one whose moment has not come).
      expect(held[i]).toBeLessThanOrEqual(decoysNeeded(i + 1, RATE))
      expect(held[i]).toBeGreaterThanOrEqual(decoysNeeded(i + 1, RATE) - 1)
    }
    const salt = store.openBatchSalt()!
    const made = store.openDecoys()
    expect(made.length).toBe(held.at(-1))
    expect(made.length).toBeGreaterThan(0)
    // Decoy j carries decoy j's secret, a fresh request of its own and the time it was made, not its template's.
    for (const [j, d] of made.entries()) {
      expect(d.decoySecret).toBe(decoySecretOf(salt, j))
      expect(d.outputHash).toBe(decoyOutputHashOf(d.decoySecret!))
      expect(d.executedAtMs).toBeGreaterThan(t0 + 10_000)
      expect(d.issuedAt).toBe(Math.floor(d.executedAtMs / 1000))
      expect(hashReceipt(receiptFromWire(JSON.parse(d.receiptJson)), domain)).toBe(d.id)
      // What a dispute's defence looks up (by the challenged output), through the decoys' own index, not a scan of every receipt.
      expect(store.decoySecretOf(d.outputHash)).toBe(d.decoySecret)
    }
    const plan = store.db
      .prepare('EXPLAIN QUERY PLAN SELECT decoy_secret FROM inferences WHERE output_hash = ? AND decoy_secret IS NOT NULL')
      .all(made[0]!.outputHash) as { detail: string }[]
    expect(plan.map((p) => p.detail).join('; ')).toContain('USING INDEX inferences_decoys')
    expect(store.decoySecretOf(`0x${'00'.repeat(32)}`)).toBeUndefined()
    // In the receipts feed each decoy sits where it was made: after the real receipt that made it due, before later ones.
    const feed = store.receiptsAfter(0, 100).map((r) => r.id)
    const realIds = store.unbatched(100).map((r) => r.id)
    for (const [j, d] of made.entries()) {
      const madeAt = held.findIndex((h) => h > j)
      expect(feed.indexOf(d.id)).toBe(feed.indexOf(realIds[madeAt]!) + 1)
    }

    // A restart recovers the open batch: the same salt, the same decoys, none made twice.
    store.close()
    store = new ReceiptStore(db)
    batcher = batcherOf(store)
    expect(store.openBatchSalt()).toBe(salt)
    expect(await batcher.makeDueDecoys(t0 + 7)).toBe(made.length)
    expect(store.openDecoys().map((d) => d.id)).toEqual(made.map((d) => d.id))

    // Five more receipts fill the batch (12): the tick cuts it with the decoys it holds, and any still missing.
    for (let i = 7; i < 14; i++) await receive(store, i, t0 + i)
    await batcher.tick(Date.now())
    const [batch] = store.batchesWithStatus('committed')
    expect(batch).toBeDefined()
    expect(batch!.decoySalt).toBe(salt)
    const leaves = store.batchInferences(batch!.localId)
    const decoys = leaves.filter((l) => l.decoySecret !== null)
    expect(decoys).toHaveLength(decoysNeeded(12, RATE))
    // The decoys made before the cut are those of the batch, each at the position its secret gives.
    expect(decoys.map((d) => d.id)).toEqual(expect.arrayContaining(made.map((d) => d.id)))
    for (const d of decoyPositions(salt, leaves.length, RATE)) expect(leaves[d.position]!.decoySecret).toBe(d.secret)
    expect(leaves.filter((l) => l.decoySecret === null).map((l) => l.id)).toEqual(Array.from({ length: 12 }, (_, i) => idOf(i)))
    // On-chain: the root commits these leaves and the salt.
    const root = buildBatchTree(
      leaves.map((l) => l.id),
      decoyCommitOf(salt),
    ).root
    expect(batch!.root).toBe(root)
    const [commit] = await chain.publicClient.getContractEvents({
      address: book.contracts.settlement,
      abi: settlementAbi,
      eventName: 'BatchCommitted',
      fromBlock: book.deployedAtBlock,
    })
    expect(commit!.args.root).toBe(root)
    // One decoy client signs every decoy of the batch (all revealed together), its channel running on.
    expect(new Set(decoys.map((d) => d.client))).toEqual(new Set([clientA]))
    expect(decoys.map((d) => BigInt(d.channelTotal)).sort((a, b) => (a < b ? -1 : 1))).toEqual(decoys.map((_, j) => 10n * BigInt(j + 1)))
    // The next batch is open with a fresh salt and the two receipts left over, and its decoys start afresh.
    expect(await batcher.makeDueDecoys(Date.now() + 1e10)).toBe(1)
    expect(store.openDecoys().map((d) => d.client)).toEqual([clientB])
    expect(store.openBatchSalt()).not.toBe(salt)
    expect(store.unbatchedCount()).toBe(2)
    expect(store.openDecoys().map((d) => d.decoySecret)).toEqual(store.openDecoys().map((_, j) => decoySecretOf(store.openBatchSalt()!, j)))
    store.close()
  }, 120_000)
})
