import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type AddressBook, deployVerity, type EmbeddedChain, startEmbeddedChain, TxSender } from '@verity/chain'
import { settlementAbi } from '@verity/contracts'
import type { Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Batcher } from '../src/batcher.js'
import { ReceiptStore } from '../src/receiptStore.js'
import { stakeInferenceNode } from './stakedNode.js'

const TOKEN = 10n ** 18n

/**
 * A node killed while its commit transaction waits in the mempool (automine off), restarted on the
 * same database: the batch keeps its commit sequence number, so however the re-sent transaction
 * races the first one, the chain holds the batch once.
 */
describe('crash-safe commits', () => {
  let chain: EmbeddedChain
  let book: AddressBook
  let dir: string
  const hex = (n: number, byte: string) => `0x${byte.repeat(31)}${n.toString(16).padStart(2, '0')}` as Hex

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verity-commit-once-'))
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
        // This batcher makes no decoys (forced errors have their own tests).
        decoyRateBps: 0,
      },
    })
    await stakeInferenceNode(chain, book)
  })

  afterAll(async () => {
    await chain?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('re-sending a pending commit after kill -9 commits the batch exactly once (automine off)', async () => {
    const db = join(dir, 'node.sqlite')
    const key = chain.accounts[1]!.privateKey
    const client = chain.accounts[2]!.address.toLowerCase() as Hex
    const first = new ReceiptStore(db)
    for (let i = 0; i < 3; i++) {
      first.insertInference(
        {
          id: hex(i, 'a1'),
          requestHash: hex(i, 'b2'),
          client,
          nonce: String(i),
          modelId: hex(0, 'c3'),
          inputHash: hex(i, 'd4'),
          outputHash: hex(i, 'e5'),
          fee: '10',
          channelTotal: String(10 * (i + 1)),
          mode: 1,
          issuedAt: 1,
          executedAtMs: 0,
          receiptJson: '{}',
          signature: '0x',
          requestJson: '{}',
          clientSignature: '0x',
          outputsJson: '{}',
          computeMs: 1,
        },
        '{}',
      )
    }
    const options = { chain, book, dataUrlOf: (root: Hex) => `http://node/v1/batches/${root}`, maxSize: 3, maxAgeMs: 0, finalize: false }
    const lines: string[] = []
    const log = (line: string) => lines.push(line)
    await chain.publicClient.request({ method: 'evm_setAutomine' as never, params: [false] as never })

    // The first process sends its commit; the transaction waits in the mempool; the process dies.
    const dying = new Batcher({ ...options, store: first, sender: new TxSender({ chain, account: key }), log })
    void dying.tick(Date.now()).catch(() => {})
    const pending = async () => (await chain.publicClient.getBlock({ blockTag: 'pending' })).transactions.length
    for (let i = 0; i < 200 && (await pending()) === 0; i++) await new Promise((r) => setTimeout(r, 25))
    expect(await pending()).toBe(1)
    first.close()

    // The restarted process finds its batch pending and not on-chain yet: it sends it again.
    const store = new ReceiptStore(db)
    expect(store.batchesWithStatus('pending').map((b) => b.sequence)).toEqual([1])
    const restarted = new Batcher({ ...options, store, sender: new TxSender({ chain, account: key }), log })
    const again = restarted.tick(Date.now()).catch((error: Error) => log(`tick: ${error.message}`))
    for (let i = 0; i < 40 && (await pending()) < 2; i++) await new Promise((r) => setTimeout(r, 25))
    await chain.publicClient.request({ method: 'evm_setAutomine' as never, params: [true] as never })
    await chain.mine()
    await again
    for (let i = 0; i < 20 && store.batchesWithStatus('committed').length === 0; i++) await restarted.tick(Date.now()).catch(() => {})

    const commits = await chain.publicClient.getContractEvents({
      address: book.contracts.settlement,
      abi: settlementAbi,
      eventName: 'BatchCommitted',
      fromBlock: book.deployedAtBlock,
    })
    expect(commits.map((c) => ({ count: c.args.count, sequence: c.args.sequence }))).toEqual([{ count: 3, sequence: 1 }])
    expect(store.batchesWithStatus('committed').map((b) => ({ batchId: b.batchId, root: b.root }))).toEqual([
      { batchId: Number(commits[0]!.args.batchId), root: commits[0]!.args.root },
    ])
    store.close()
  }, 60_000)
})
