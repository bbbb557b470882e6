import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { connect, readAddressBook, readKeyFile } from '@verity/chain'
import { rawFromWire } from '@verity/contracts'
import { loadMnist, mnistImage } from '@verity/runtime'
import { generatePrivateKey } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type Devnet, startDevnet } from '../../cli/src/devnet/startDevnet.js'
import { main } from '../../cli/src/main.js'
import {
  audit,
  createVerityClient,
  discoverNodes,
  getInference,
  InferenceRejectedError,
  InvalidReceiptError,
  infer,
  ModelNotRegisteredError,
  NoNodeAvailableError,
  ReceiptIdMismatchError,
  ReceiptNotInBatchError,
  verifyReceipt,
  waitForTrust,
  watchTransitions,
} from '../src/index.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const mnistDir = join(root, 'data', 'datasets', 'mnist')

describe('SDK against a running network', () => {
  let net: Devnet
  beforeAll(async () => {
    net = await startDevnet({
      dir: join(mkdtempSync(join(tmpdir(), 'verity-sdk-')), 'net'),
      nodes: 2,
      verifiers: 1,
      window: 2,
      sampleRate: 1,
    })
  })
  afterAll(async () => net?.stop())
  const digit = (i: number) => ({ Input3: mnistImage(net.mnist, i) })

  it('the README example works as written (against this devnet)', async () => {
    const book = readAddressBook(join(net.dir, 'addresses.json'))
    const client = createVerityClient({ chain: await connect(net.chain.rpcUrl), book, account: readKeyFile(net.clientKeyFile) })
    const modelId = await client.contracts.modelRegistry.read.modelIdAt([0n])
    const answer = await infer(client, { modelId, inputs: { Input3: mnistImage(loadMnist(mnistDir), 0) } })
    const final = await waitForTrust(client, {
      inferenceId: answer.inferenceId,
      node: answer.node.url,
      level: 'FINAL',
      pollIntervalMs: 200,
    })
    const check = await verifyReceipt(client, { receipt: final.receipt, signature: final.signature, inclusion: final.batch! })
    expect(Object.values(answer.outputs)[0]!.values).toHaveLength(10)
    expect(final.timeline.at(-1)!.level).toBe('FINAL')
    expect(check).toEqual({ signedByNode: true, nodeRegistered: true, nodeActive: true, included: true, problems: [] })
  })

  it('discovers the active nodes through the on-chain registry', async () => {
    const nodes = await discoverNodes(net.client)
    expect(nodes.map((n) => n.url).sort()).toEqual(net.nodes.map((n) => n.url).sort())
    // Staked 20,000 VRT each, less any decoy reward paid before the node had earnings to pay it from.
    expect(nodes.every((n) => n.staked <= 20_000n * 10n ** 18n && n.staked > 19_990n * 10n ** 18n)).toBe(true)
  })

  it('streams the trust transitions of an answer until FINAL', async () => {
    const answer = await infer(net.client, { modelId: net.modelId, inputs: digit(3) })
    const levels: string[] = []
    for await (const t of watchTransitions(net.client, {
      inferenceId: answer.inferenceId,
      node: answer.node.url,
      pollIntervalMs: 200,
      timeoutMs: 60_000,
    }))
      levels.push(t.level)
    expect(levels).toEqual(['EXECUTED', 'COMMITTED', 'ATTESTED', 'FINAL'])
  })

  it('refuses with a typed error carrying the node’s code: a client without escrow', async () => {
    const broke = createVerityClient({ chain: net.chain, book: net.book, account: generatePrivateKey() })
    const error = await infer(broke, { modelId: net.modelId, inputs: digit(0) }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InferenceRejectedError)
    expect((error as InferenceRejectedError).nodeCode).toBe('INSUFFICIENT_ESCROW')
    expect((error as InferenceRejectedError).status).toBe(402)
  })

  it('fails with MODEL_NOT_REGISTERED for a model that is not registered', async () => {
    const error = await infer(net.client, { modelId: `0x${'ab'.repeat(32)}`, inputs: digit(0) }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ModelNotRegisteredError)
    expect((error as ModelNotRegisteredError).code).toBe('MODEL_NOT_REGISTERED')
  })

  it('refuses another receipt served for the id asked, with its valid signature and proof: SDK and CLI', async () => {
    const honest = net.nodes[1]!.url
    const [q, y] = [
      await infer(net.client, { modelId: net.modelId, inputs: digit(5), node: honest }),
      await infer(net.client, { modelId: net.modelId, inputs: digit(6), node: honest }),
    ]
    for (const a of [q, y])
      await waitForTrust(net.client, { inferenceId: a.inferenceId, node: honest, level: 'COMMITTED', pollIntervalMs: 100 })
    const served = async (path: string) => (await fetch(`${honest}${path}`)).text()
    // A hostile node: for Q it answers Y's receipt and signature and Y's valid proof; then Q's receipt with Y's proof.
    let swapProofOnly = false
    const forger = createServer(async (req, res) => {
      const answer =
        req.url === `/v1/inferences/${q.inferenceId}`
          ? await served(`/v1/inferences/${swapProofOnly ? q.inferenceId : y.inferenceId}`)
          : req.url === `/v1/inferences/${q.inferenceId}/proof`
            ? await served(`/v1/inferences/${y.inferenceId}/proof`)
            : req.url?.startsWith('/v1/data/')
              ? await served(req.url)
              : undefined
      if (answer === undefined) return void res.writeHead(404).end()
      res.writeHead(200, { 'content-type': 'application/json' }).end(answer)
    })
    await new Promise<void>((r) => forger.listen(0, '127.0.0.1', r))
    const forgerUrl = `http://127.0.0.1:${(forger.address() as AddressInfo).port}`
    try {
      const ask = { inferenceId: q.inferenceId, node: forgerUrl }
      // One at a time: a promise created before its turn could reject with nobody listening yet.
      for (const action of [
        () => getInference(net.client, ask),
        () => audit(net.client, ask),
        () => waitForTrust(net.client, { ...ask, level: 'FINAL' }),
      ]) {
        const error = await action().catch((e: unknown) => e)
        expect(error).toBeInstanceOf(ReceiptIdMismatchError)
        expect(error).toMatchObject({ code: 'RECEIPT_ID_MISMATCH', details: { asked: q.inferenceId.toLowerCase(), served: y.inferenceId } })
      }
      const errors: string[] = []
      const spy = vi.spyOn(console, 'error').mockImplementation((line: string) => void errors.push(line))
      const cli = (command: string) =>
        main([
          'node',
          'verity',
          command,
          q.inferenceId,
          '--node',
          forgerUrl,
          '--rpc',
          net.chain.rpcUrl,
          '--addresses',
          join(net.dir, 'addresses.json'),
        ])
      try {
        expect(await cli('status')).toBe(1)
        expect(await cli('audit')).toBe(1)
      } finally {
        spy.mockRestore()
      }
      expect(errors.filter((l) => l.startsWith('error '))).toEqual([
        `error RECEIPT_ID_MISMATCH: asked for inference ${q.inferenceId.toLowerCase()}, the receipt served hashes to ${y.inferenceId}`,
        `error RECEIPT_ID_MISMATCH: asked for inference ${q.inferenceId.toLowerCase()}, the receipt served hashes to ${y.inferenceId}`,
      ])
      // Q's own receipt with Y's proof: not in the root committed on-chain.
      swapProofOnly = true
      expect(await getInference(net.client, ask).catch((e: unknown) => e)).toBeInstanceOf(ReceiptNotInBatchError)
      // The honest node's answer passes the same checks.
      expect((await getInference(net.client, { inferenceId: q.inferenceId, node: honest })).receipt).toEqual(q.receipt)
    } finally {
      forger.closeAllConnections()
      await new Promise<void>((r) => forger.close(() => r()))
    }
  })

  /**
   * A hostile node in front of an honest one: every call passed through, each `/v1/infer` answer's
   * body rewritten by `rewrite` (given the request's body); `use` runs with its URL.
   */
  async function withRewritingNode(
    rewrite: (answer: { outputs: Record<string, { raw: unknown }> }, asked: Record<string, unknown>) => void,
    use: (url: string) => Promise<void>,
  ): Promise<void> {
    const honest = net.nodes[1]!.url
    const forger = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', async () => {
        const body = Buffer.concat(chunks).toString('utf8')
        const upstream = await fetch(`${honest}${req.url}`, {
          method: req.method ?? 'GET',
          headers: { 'content-type': 'application/json' },
          ...(req.method === 'POST' ? { body } : {}),
        })
        let text = await upstream.text()
        if (req.url === '/v1/infer' && upstream.ok) {
          const answer = JSON.parse(text)
          rewrite(answer, JSON.parse(body))
          text = JSON.stringify(answer)
        }
        res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(text)
      })
    })
    await new Promise<void>((r) => forger.listen(0, '127.0.0.1', r))
    try {
      await use(`http://127.0.0.1:${(forger.address() as AddressInfo).port}`)
    } finally {
      forger.closeAllConnections()
      await new Promise<void>((r) => forger.close(() => r()))
    }
  }

  it('returns the outputs the receipt commits to, named and scaled by the model: a node’s own values, scales and names are not used', async () => {
    const asked: unknown[] = []
    // The answer's outputs rewritten around the committed `raw`: the values reversed, the scale and shape
    // the node's own, the output renamed.
    const forge = (answer: { outputs: Record<string, { raw: unknown }> }, body: Record<string, unknown>) => {
      asked.push({ values: body.values, encoding: body.encoding })
      const [raw] = Object.values(answer.outputs).map((o) => o.raw as string)
      const values = Array.from(rawFromWire(raw)).reverse()
      answer.outputs = { Forged: { shape: [2, 5], scale: 1, raw: raw!, values } as never }
    }
    await withRewritingNode(forge, async (forgerUrl) => {
      const forged = await infer(net.client, { modelId: net.modelId, inputs: digit(7), node: forgerUrl })
      const straight = await infer(net.client, { modelId: net.modelId, inputs: digit(7), node: net.nodes[1]!.url })
      // The SDK asked for no values (it computes them from the checked raw and the model's scale), raw in base64.
      expect(asked).toEqual([{ values: false, encoding: 'base64' }])
      expect(forged.outputs).toEqual(straight.outputs)
      const [name, output] = Object.entries(straight.outputs)[0]!
      expect(name).not.toBe('Forged')
      expect(output.shape).toEqual([1, 10])
      expect(output.values).toEqual(output.raw.map((v) => v * output.scale))
    })
  })

  it('reads raw as integers from a node that ignores the encoding asked for; refuses a base64 raw that is not one tensor’s', async () => {
    let mode: 'integers' | 'bad padding' = 'integers'
    const rewrite = (answer: { outputs: Record<string, { raw: unknown }> }) => {
      for (const output of Object.values(answer.outputs)) {
        const raw = output.raw as string
        // Another text of the same bytes (mnist-8's 20 bytes end in one '='): a padding bit of its last
        // character set. Decoded leniently it would hash the same; it is refused.
        const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
        const last = alphabet[alphabet.indexOf(raw.at(-2)!) | 1]
        output.raw = mode === 'integers' ? Array.from(rawFromWire(raw)) : `${raw.slice(0, -2)}${last}=`
      }
      // Under a name of the node's making, 100,000 characters with a line break: the refusal must not carry it.
      if (mode === 'bad padding') answer.outputs = { [`${'x'.repeat(100_000)}\nFORGED`]: Object.values(answer.outputs)[0]! }
    }
    await withRewritingNode(rewrite, async (url) => {
      const straight = await infer(net.client, { modelId: net.modelId, inputs: digit(3), node: net.nodes[1]!.url })
      const asIntegers = await infer(net.client, { modelId: net.modelId, inputs: digit(3), node: url })
      expect(asIntegers.outputs).toEqual(straight.outputs)
      mode = 'bad padding'
      const refused = await infer(net.client, { modelId: net.modelId, inputs: digit(3), node: url }).catch((e: unknown) => e)
      expect(refused).toBeInstanceOf(InvalidReceiptError)
      expect((refused as InvalidReceiptError).message).toMatch(/outputs\[0\]\.raw: expected the base64 of int16 values/)
      expect((refused as InvalidReceiptError).message).not.toMatch(/FORGED|xxxx/)
      expect((refused as InvalidReceiptError).message.length).toBeLessThan(600)
    })
  })

  it('fails over to another node when the one asked first is down, and reports when all are', async () => {
    const down = net.nodes[0]!
    await down.node.stop()
    const answer = await infer(net.client, { modelId: net.modelId, inputs: digit(1), node: down.url })
    expect(answer.node.url).toBe(net.nodes[1]!.url)
    const isolated = createVerityClient({
      chain: net.chain,
      book: net.book,
      account: generatePrivateKey(),
      nodes: [down.url, 'http://127.0.0.1:9'],
    })
    const error = await infer(isolated, { modelId: net.modelId, inputs: digit(1) }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NoNodeAvailableError)
    expect((error as NoNodeAvailableError).details.attempts).toHaveLength(2)
  })
})
