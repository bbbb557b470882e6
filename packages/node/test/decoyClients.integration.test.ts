import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inputsFromWire, receiptFromWire, requestFromWire, settlementAbi } from '@verity/contracts'
import { mnistImage, runQuantized, tensorsHash } from '@verity/runtime'
import { infer } from '@verity/sdk'
import type { Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Devnet, startDevnet } from '../../cli/src/devnet/startDevnet.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Decoy clients that look like clients, on a devnet node (its decoy clients funded by the deployer,
 * as its workload's clients are): each is a fresh key with its own escrow deposited by itself, aged
 * with paid canary requests through `/v1/infer` whose receipts are correct, then signs exactly one
 * decoy, which continues its channel, and is retired. The workload itself comes from several clients.
 */
describe('decoy clients', () => {
  let dir: string
  let net: Devnet

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verity-decoy-clients-'))
    net = await startDevnet({ dir: join(dir, 'net'), nodes: 1, verifiers: 0, window: 30, batchSize: 4, batchAgeMs: 300 })
  }, 120_000)
  afterAll(async () => {
    await net?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('funds, ages and uses each decoy client once; its decoy continues a channel of real, paid receipts', async () => {
    const node = net.nodes[0]!.node
    const store = node.store
    const model = await net.client.model(net.modelId)
    // Real traffic from several keys (the devnet's workload clients), so canaries have inputs to vary.
    expect(net.clients.length).toBeGreaterThanOrEqual(3)
    expect(new Set(net.clients.map((c) => c.account.address)).size).toBe(net.clients.length)
    const ask = (i: number) =>
      infer(net.clients[i % net.clients.length]!, {
        modelId: net.modelId,
        inputs: { Input3: mnistImage(net.mnist, i) },
        node: net.nodes[0]!.url,
      })
    for (let i = 0; i < 4; i++) await ask(i)
    const pool = () =>
      store.db.prepare('SELECT address, canaries, state FROM decoy_clients').all() as { address: Hex; canaries: number; state: string }[]
    const decoysBy = (address: Hex) =>
      store.db.prepare('SELECT * FROM inferences WHERE client = ? AND decoy_secret IS NOT NULL').all(address) as unknown[]
    // Keep real traffic flowing until some pool client has signed a decoy.
    let i = 4
    const deadline = Date.now() + 90_000
    while (!pool().some((c) => c.state === 'used' && decoysBy(c.address).length > 0)) {
      // (The costs carry bigint gas: stringified with a replacer, or the message itself would throw.)
      expect(
        Date.now(),
        JSON.stringify(node.decoyCosts(), (_, v) => (typeof v === 'bigint' ? v.toString() : v)),
      ).toBeLessThan(deadline)
      await ask(i++)
      await sleep(150)
    }
    const used = pool().filter((c) => c.state === 'used' && decoysBy(c.address).length > 0)
    for (const client of pool()) expect(decoysBy(client.address).length).toBeLessThanOrEqual(1)
    for (const client of used) {
      // Its escrow was deposited by itself (its own transaction), and is what the devnet's clients deposit.
      const [deposit] = await net.chain.publicClient.getContractEvents({
        address: net.book.contracts.settlement,
        abi: settlementAbi,
        eventName: 'Deposited',
        args: { client: client.address },
        fromBlock: net.book.deployedAtBlock,
      })
      expect(deposit).toBeDefined()
      const tx = await net.chain.publicClient.getTransaction({ hash: deposit!.transactionHash })
      expect(tx.from.toLowerCase()).toBe(client.address)
      expect(await net.client.contracts.settlement.read.availableEscrow([client.address])).toBe(
        await net.client.contracts.settlement.read.availableEscrow([net.clients[1]!.account.address]),
      )
      // Its canaries: as many as it drew, each a correct receipt (re-executed here), paid on a running channel total.
      const rows = store.db.prepare('SELECT * FROM inferences WHERE client = ? ORDER BY seq').all(client.address) as {
        seq: number
        input_hash: Hex
        output_hash: Hex
        fee: string
        channel_total: string
        decoy_secret: Hex | null
        request_json: string
      }[]
      const canaries = rows.filter((r) => r.decoy_secret === null)
      expect(canaries).toHaveLength(client.canaries)
      let total = 0n
      for (const c of canaries) {
        total += BigInt(c.fee)
        expect(BigInt(c.channel_total)).toBe(total)
        const inputs = inputsFromWire(model, JSON.parse(store.getInput(c.input_hash)!))
        expect(tensorsHash(runQuantized(model, inputs).outputs)).toBe(c.output_hash)
      }
      // Its one decoy comes last and continues the channel.
      const decoy = rows.at(-1)!
      expect(decoy.decoy_secret).not.toBeNull()
      expect(BigInt(decoy.channel_total)).toBe(total + BigInt(decoy.fee))
      expect(requestFromWire(JSON.parse(decoy.request_json)).channelTotal).toBe(total + BigInt(decoy.fee))
      // The node's channel view agrees with the receipts (the decoy's voucher is the highest).
      const channel = (await (await fetch(`${net.nodes[0]!.url}/v1/channels/${client.address}`)).json()) as {
        authorized: string
        charged: string
      }
      expect(channel).toMatchObject({ authorized: (total + BigInt(decoy.fee)).toString(), charged: (total + BigInt(decoy.fee)).toString() })
    }
    // Served by id like any receipt, and without outputs (no route serves a stored receipt's outputs).
    const decoyId = (
      store.db.prepare('SELECT id FROM inferences WHERE client = ? AND decoy_secret IS NOT NULL').get(used[0]!.address) as { id: Hex }
    ).id
    const served = (await (await fetch(`${net.nodes[0]!.url}/v1/inferences/${decoyId}`)).json()) as Record<string, unknown>
    expect(served.inferenceId).toBe(decoyId)
    expect(Object.keys(served).sort()).toEqual(['attestations', 'batch', 'inferenceId', 'receipt', 'signature', 'timeline', 'trust'])
    // The decoy's receipt names the client like any receipt.
    const decoy = store.db
      .prepare('SELECT receipt_json FROM inferences WHERE client = ? AND decoy_secret IS NOT NULL')
      .get(used[0]!.address) as {
      receipt_json: string
    }
    expect(receiptFromWire(JSON.parse(decoy.receipt_json)).client.toLowerCase()).toBe(used[0]!.address)
    // What they cost, as the node counts it, and as its /metrics shows it.
    const costs = node.decoyCosts()!
    const metrics = await (await fetch(`${net.nodes[0]!.url}/metrics`)).text()
    const metric = (line: string) =>
      Number(
        metrics
          .split('\n')
          .find((l) => l.startsWith(line))
          ?.split(' ')
          .at(-1),
      )
    expect(metric('verity_node_decoy_clients{state="used"}')).toBeGreaterThanOrEqual(1)
    expect(metric('verity_node_decoy_client_gas')).toBeGreaterThan(0)
    expect(metric('verity_node_decoy_canaries')).toBeGreaterThan(0)
    expect(costs.used).toBeGreaterThanOrEqual(used.length)
    expect(costs.gasUsed).toBeGreaterThan(0n)
    expect(costs.canaries).toBeGreaterThanOrEqual(used.reduce((n, c) => n + c.canaries, 0))
    expect(costs.canaryComputeMs).toBeGreaterThan(0)

    // Once its decoy's batch is final (and the node has redeemed its canaries), the client's escrow
    // goes back to the funder: requestWithdrawal, withdraw after the delay, its tokens transferred.
    const client = used[0]!.address
    const stateOf = () => pool().find((c) => c.address === client)!.state
    // Traffic stopped: once every receipt is in a committed batch, one move of the clock past the window settles them all.
    const recoverBy = Date.now() + 90_000
    while (store.counts().unbatched > 0 || store.counts().pendingBatches > 0) {
      expect(Date.now(), JSON.stringify(store.counts())).toBeLessThan(recoverBy)
      await sleep(100)
    }
    await net.chain.increaseTime(net.book.params.challengeWindow + 2)
    while (stateOf() !== 'withdrawing' && stateOf() !== 'recovered') {
      expect(Date.now(), `state ${stateOf()}`).toBeLessThan(recoverBy)
      await sleep(200)
    }
    await net.chain.increaseTime(net.book.params.escrowWithdrawalDelay + 2)
    while (stateOf() !== 'recovered') {
      expect(Date.now(), `state ${stateOf()}`).toBeLessThan(recoverBy)
      await sleep(200)
    }
    const escrow = await net.client.contracts.settlement.read.escrowOf([client])
    expect(escrow.balance).toBe(0n)
    expect(await net.client.contracts.token.read.balanceOf([client])).toBe(0n)
    const [withdrawn] = await net.chain.publicClient.getContractEvents({
      address: net.book.contracts.settlement,
      abi: settlementAbi,
      eventName: 'Withdrawn',
      args: { client },
      fromBlock: net.book.deployedAtBlock,
    })
    // What it withdrew: its deposit less the canaries the node redeemed (the decoy's fee is never paid).
    const [deposited] = await net.chain.publicClient.getContractEvents({
      address: net.book.contracts.settlement,
      abi: settlementAbi,
      eventName: 'Deposited',
      args: { client },
      fromBlock: net.book.deployedAtBlock,
    })
    const paid = store.channel(client).paid
    expect(paid).toBe(BigInt(used[0]!.canaries) * 10n ** 15n)
    expect(withdrawn!.args.amount).toBe(deposited!.args.amount! - paid)
    expect(node.decoyCosts()!.recovered).toBeGreaterThanOrEqual(1)
    // Idle (no real receipt in the open batch), the node makes no canaries: none would ride along with real traffic.
    const idle = node.decoyCosts()!.canaries
    await sleep(1500)
    expect(node.decoyCosts()!.canaries).toBe(idle)
    expect(store.counts().unbatched).toBe(0)
  }, 180_000)
})
