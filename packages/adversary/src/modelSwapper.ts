import { createServer, type Server } from 'node:http'
import {
  buildBatchTree,
  hashReceipt,
  type InferenceRequest,
  NO_DECOYS_COMMIT,
  NO_DECOYS_SALT,
  type Receipt,
  receiptToWire,
  requestFromWire,
  requestToWire,
  settlementAbi,
} from '@verity/contracts'
import { mnistImage, quantizeInputs, tensorBytes } from '@verity/runtime'
import { infer } from '@verity/sdk'
import { type Hex, keccak256, toHex } from 'viem'
import type { AttackedNetwork } from './attackedNetwork.js'
import { type Attacker, type AttackReport, chainPast, committedAt, dataChallengesOf, forgedReceipt, lastBatchId } from './moneyAttacker.js'

/**
 * model-swapper: serves the devnet client as an inference node but signs receipts naming another
 * model, commits them, and serves its batch with the client's signed request.
 */
export async function modelSwapper(
  net: AttackedNetwork,
  attacker: Attacker,
  server: { url: string; state: SwapperState },
  steps: AttackReport['steps'],
): Promise<void> {
  const swapped = keccak256(toHex('model B'))
  server.state.swapTo = swapped
  try {
    await infer(net.client, { modelId: net.modelId, inputs: { Input3: mnistImage(net.mnist, 0) }, node: server.url })
    steps.push({ tried: 'answer the client with model B while it asked for model A', outcome: 'the SDK ACCEPTED it' })
  } catch (error) {
    steps.push({
      tried: 'answer the client with model B while it asked for model A',
      outcome: `the SDK refused it: ${(error as Error).name}`,
    })
  }
  const answered = server.state.answered[0]
  if (!answered) return
  const tree = buildBatchTree([hashReceipt(answered.receipt, attacker.domain)], NO_DECOYS_COMMIT)
  const root = tree.root
  server.state.batches.set(root.toLowerCase(), [answered])
  const commit = await attacker.settlement('commitBatch', [
    root,
    1,
    answered.receipt.fee,
    attacker.nextSequence(),
    `${server.url}/v1/batches/${root}`,
  ])
  const batchId = await lastBatchId(net)
  steps.push({ tried: 'commit the swapped receipt', outcome: commit.ok ? `committed as batch ${batchId}` : `refused: ${commit.error}` })
  const started = await net.chain.publicClient.getBlockNumber()
  const challengeId = (await dataChallengesOf(net, batchId, started, 1))[0]?.args.challengeId
  steps.push({
    tried: 'wait for verifiers',
    outcome: challengeId === undefined ? 'NOT challenged' : `data challenge ${challengeId} opened (the request names model A)`,
  })
  // The attacker tries to answer the data challenge with the client's real request: the binding fails.
  if (challengeId !== undefined) {
    const published = await attacker.settlement('publishData', [
      challengeId,
      answered.receipt,
      answered.request,
      answered.clientSignature,
      answered.inputs,
    ])
    steps.push({
      tried: "publish the client's request and input for the swapped receipt",
      outcome: published.ok ? 'ACCEPTED' : `refused: ${published.error}`,
    })
    // Every verifier may have challenged it: each challenge runs out; the first overturns the receipt.
    const all = await dataChallengesOf(net, batchId, started, 1)
    const outcomes: string[] = []
    for (const e of all) {
      const challenge = await net.chain.publicClient.readContract({
        address: net.book.contracts.settlement,
        abi: settlementAbi,
        functionName: 'getChallenge',
        args: [e.args.challengeId],
      })
      await chainPast(net, BigInt(challenge.openedAt) + BigInt(net.book.params.dataResponseTime))
      const expired = await attacker.settlement('expireChallenge', [e.args.challengeId])
      outcomes.push(expired.ok ? 'expired' : `refused: ${expired.error}`)
    }
    const overturned = await net.chain.publicClient.readContract({
      address: net.book.contracts.settlement,
      abi: settlementAbi,
      functionName: 'isOverturned',
      args: [batchId, 0],
    })
    steps.push({
      tried: 'let the data challenges run out',
      outcome: overturned ? 'receipt overturned: client refunded, attacker slashed' : `NOT overturned (${outcomes.join(', ')})`,
    })
  }
  // Paid anyway? Its voucher's receipt (model A) is not what it committed (model B).
  await chainPast(net, (await committedAt(net, batchId)) + BigInt(net.book.params.challengeWindow))
  await attacker.settlement('revealDecoys', [batchId, NO_DECOYS_SALT, tree.receiptsRoot])
  const finalized = await attacker.settlement('finalize', [batchId, []])
  steps.push({ tried: 'finalize its batch', outcome: finalized.ok ? 'finalized' : `refused: ${finalized.error}` })
  const redeem = await attacker.settlement('redeem', [
    answered.request,
    answered.clientSignature,
    {
      outputHash: answered.receipt.outputHash,
      fee: answered.receipt.fee,
      issuedAt: answered.receipt.issuedAt,
      batchId,
      index: 0,
      proof: tree.proof(0),
    },
  ])
  steps.push({ tried: "redeem the client's voucher for the swapped receipt", outcome: redeem.ok ? 'REDEEMED' : `refused: ${redeem.error}` })
}

export type SwapperState = {
  swapTo?: Hex
  answered: { receipt: Receipt; signature: Hex; request: InferenceRequest; clientSignature: Hex; inputs: Hex[] }[]
  batches: Map<string, SwapperState['answered']>
}

/** The model-swapper's node: raw HTTP, answering `/v1/infer` with a receipt naming another model. */
export async function swapperServer(
  net: AttackedNetwork,
  attacker: () => Attacker,
): Promise<{ url: string; state: SwapperState; server: Server }> {
  const state: SwapperState = { answered: [], batches: new Map() }
  const model = await net.client.model(net.modelId)
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString()
    })
    req.on('end', async () => {
      const reply = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end(JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v)))
      }
      const a = attacker()
      // A health answer of the API's shape (the SDK checks it), as any node gives.
      if (req.url === '/healthz')
        return reply(200, {
          ok: true,
          role: 'inference',
          node: a.address,
          chainId: net.chain.chainId,
          price: (10n ** 15n).toString(),
          inferences: 0,
          unbatched: 0,
          pendingBatches: 0,
          committedBatches: 0,
          finalizedBatches: 0,
        })
      if (req.url?.startsWith('/v1/batches/')) {
        const entries = state.batches.get(req.url.slice('/v1/batches/'.length).toLowerCase()) ?? []
        return reply(200, {
          decoyCommit: NO_DECOYS_COMMIT,
          receipts: entries.map((e) => ({
            receipt: receiptToWire(e.receipt),
            signature: e.signature,
            request: requestToWire(e.request),
            clientSignature: e.clientSignature,
          })),
        })
      }
      if (req.url === '/v1/infer') {
        const parsed = JSON.parse(body) as { request: unknown; signature: Hex }
        const request = requestFromWire(parsed.request)
        const client = net.client.account.address
        const { receipt, signature } = await forgedReceipt(a, request, client, { modelId: state.swapTo ?? request.modelId })
        const inputs = quantizeInputs(model, { Input3: mnistImage(net.mnist, 0) })
        state.answered.push({
          receipt,
          signature,
          request,
          clientSignature: parsed.signature,
          inputs: inputs.map((t) => toHex(tensorBytes(t))),
        })
        return reply(200, { inferenceId: hashReceipt(receipt, a.domain), receipt: receiptToWire(receipt), signature, outputs: {} })
      }
      reply(404, { error: { code: 'NOT_FOUND' } })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, state, server }
}
