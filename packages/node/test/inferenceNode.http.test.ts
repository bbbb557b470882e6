import { mkdtempSync, rmSync } from 'node:fs'
import { Agent, request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  eip712Types,
  encodeMode,
  hashRequest,
  type InferenceRequest,
  inputsToWire,
  recoverSigner,
  requestFromWire,
  requestToWire,
  verityDomain,
  type WireInputs,
} from '@verity/contracts'
import { type LoadedModel, mnistImage, quantizeInputs, tensorsHash } from '@verity/runtime'
import { createVerityClient, depositEscrow, infer } from '@verity/sdk'
import type { Hex, LocalAccount } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Devnet, startDevnet } from '../../cli/src/devnet/startDevnet.js'

const PRICE = 10n ** 15n
const MiB = 1024 * 1024

type ErrorBody = { error: { code: string; message: string; details?: Record<string, unknown> } }
type Answer = { status: number; contentType: string | null; text: string }
type Built = { request: InferenceRequest; signature: Hex; inputs: WireInputs; inputHash: Hex; body: Record<string, unknown> }

/**
 * The inference node's HTTP API against a real network (embedded chain, hub, mnist-8, one node):
 * every malformed, unauthorized or unpayable request is refused with a typed 4xx JSON error,
 * records nothing, and leaves the node serving.
 */
describe('inference node HTTP API: refusals', () => {
  let dir: string
  let net: Devnet
  let url: string
  let model: LoadedModel
  let clientAccount: LocalAccount
  /** Funded with tokens, no escrow. */
  let pauper: LocalAccount
  /** Escrow for one and a half inferences. */
  let shortOfEscrow: LocalAccount
  let nextImage = 0
  const triggered = new Map<string, number>()

  const store = () => net.nodes[0]!.node.store
  /** Each account's running channel total with the node, as the SDK keeps it. */
  const channelTotals = new Map<string, bigint>()
  const sign = (account: LocalAccount, request: InferenceRequest) =>
    account.signTypedData({
      domain: verityDomain(net.client.domain),
      types: eip712Types,
      primaryType: 'InferenceRequest',
      message: request,
    })

  /** A valid signed request (as the SDK builds it) on a fresh MNIST digit, with optional overrides. */
  async function build(
    overrides: Partial<InferenceRequest> = {},
    options: { account?: LocalAccount; image?: number } = {},
  ): Promise<Built> {
    const image = options.image ?? nextImage++
    const quantized = quantizeInputs(model, { Input3: mnistImage(net.mnist, image) })
    const inputHash = tensorsHash(quantized)
    const account = options.account ?? clientAccount
    const maxFee = overrides.maxFee ?? 10n ** 15n
    const channelTotal = (channelTotals.get(account.address) ?? 0n) + maxFee
    channelTotals.set(account.address, channelTotal)
    const request: InferenceRequest = {
      modelId: net.modelId.toLowerCase() as Hex,
      inputHash,
      node: net.nodes[0]!.node.address,
      mode: encodeMode('optimistic'),
      maxFee,
      nonce: crypto.getRandomValues(new BigUint64Array(1))[0]!,
      deadline: BigInt(Math.floor(Date.now() / 1000) + 60),
      channelTotal,
      ...overrides,
    }
    const signature = await sign(options.account ?? clientAccount, request)
    const inputs = inputsToWire(model, quantized)
    return { request, signature, inputs, inputHash, body: { request: requestToWire(request), signature, inputs } }
  }

  const post = async (body: unknown): Promise<Answer> => {
    const response = await fetch(`${url}/v1/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    })
    return { status: response.status, contentType: response.headers.get('content-type'), text: await response.text() }
  }

  /**
   * POST /v1/infer with node:http: with a content-length or chunked (no content-length), on a fresh
   * connection unless an agent is given. Upload errors after the answer arrived are ignored.
   */
  const rawPost = (bytes: Uint8Array, options: { chunked: boolean; agent?: Agent }) =>
    new Promise<Answer>((resolve, reject) => {
      const req = httpRequest(
        {
          host: new URL(url).hostname,
          port: new URL(url).port,
          path: '/v1/infer',
          method: 'POST',
          agent: options.agent ?? false,
          headers: {
            'content-type': 'application/json',
            ...(options.chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(bytes.length) }),
          },
        },
        (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => {
            text += chunk
          })
          res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'] ?? null, text }))
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      req.on('socket', (socket) => socket.on('error', () => {}))
      for (let i = 0; i < bytes.length; i += 64 * 1024) req.write(bytes.subarray(i, i + 64 * 1024))
      req.end()
    })

  /**
   * Sends, and checks the refusal: status, typed JSON error, nothing stored, the input not served.
   */
  async function refused(send: Promise<Answer>, status: number, code: string, inputHash?: Hex) {
    const before = store().counts().inferences
    const response = await send
    let body: ErrorBody
    try {
      body = JSON.parse(response.text)
    } catch {
      throw new Error(`expected a JSON error ${status} ${code}, got ${response.status}: ${response.text.slice(0, 200)}`)
    }
    if (body.error?.code) triggered.set(body.error.code, (triggered.get(body.error.code) ?? 0) + 1)
    expect({ status: response.status, code: body.error?.code }, body.error?.message).toEqual({
      status,
      code,
    })
    expect(response.status).toBeGreaterThanOrEqual(400)
    expect(response.contentType).toMatch(/^application\/json/)
    expect(body.error.message).toEqual(expect.any(String))
    expect(body.error.message.length).toBeGreaterThan(0)
    expect(store().counts().inferences).toBe(before)
    if (inputHash) expect((await fetch(`${url}/v1/data/${inputHash}`)).status).toBe(404)
    return body.error
  }

  async function accepted(built: Built) {
    const before = store().counts().inferences
    const response = await post(built.body)
    const body = JSON.parse(response.text) as { inferenceId: Hex; receipt: { client: string; fee: string } } & Partial<ErrorBody>
    expect(response.status, JSON.stringify(body.error)).toBe(200)
    expect(body.inferenceId).toMatch(/^0x[0-9a-f]{64}$/)
    expect(store().counts().inferences).toBe(before + 1)
    const data = await fetch(`${url}/v1/data/${built.inputHash}`)
    expect(data.status).toBe(200)
    expect(((await data.json()) as { inputs: WireInputs }).inputs).toEqual(built.inputs)
    return body
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verity-node-http-'))
    net = await startDevnet({ dir: join(dir, 'net'), nodes: 1, verifiers: 0, window: 30, decoyRateBps: 0 })
    url = net.nodes[0]!.url
    model = await net.client.model(net.modelId)
    clientAccount = net.client.account
    // startDevnet funds accounts 1…9 with tokens; 0 deploys, 1 is the node, 2 the client.
    pauper = privateKeyToAccount(net.chain.accounts[3]!.privateKey)
    shortOfEscrow = privateKeyToAccount(net.chain.accounts[4]!.privateKey)
    await depositEscrow(createVerityClient({ chain: net.chain, book: net.book, account: shortOfEscrow }), { amount: (3n * PRICE) / 2n })
    expect(await net.client.contracts.settlement.read.availableEscrow([pauper.address])).toBe(0n)
    expect(await net.client.contracts.token.read.balanceOf([pauper.address])).toBeGreaterThan(0n)
  })
  afterAll(async () => {
    await net?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('answers a valid signed request built by hand (the harness itself is right)', async () => {
    const built = await build()
    const answer = await accepted(built)
    expect(answer.receipt.client.toLowerCase()).toBe(clientAccount.address.toLowerCase())
    expect(answer.receipt.fee).toBe(PRICE.toString())
  })

  it('refuses a body that is not JSON: 400 MALFORMED_JSON', async () => {
    const built = await build()
    const text = JSON.stringify(built.body)
    await refused(post(text.slice(0, text.length - 10)), 400, 'MALFORMED_JSON', built.inputHash)
    await refused(post(''), 400, 'MALFORMED_JSON')
    await refused(post("{'request': 1}"), 400, 'MALFORMED_JSON')
    // A literal NaN is not JSON either.
    const nan = text.replace(/"data":\[(-?\d+)/, '"data":[NaN')
    expect(nan).not.toBe(text)
    await refused(post(nan), 400, 'MALFORMED_JSON', built.inputHash)
  })

  it('refuses a JSON body that is not an object: 400 INVALID_REQUEST', async () => {
    for (const body of ['null', '[]', '42', '"request"', 'true', `[${JSON.stringify((await build()).body)}]`]) {
      await refused(post(body), 400, 'INVALID_REQUEST')
    }
  })

  /** Request fields missing or of the wrong type, each with the field the error must name. */
  const badFields = (wire: Record<string, unknown>): [field: string, request: unknown][] => {
    const cases: [field: string, value: unknown][] = [
      ['modelId', undefined],
      ['modelId', 123],
      ['modelId', '0x1234'],
      ['modelId', `0x${'zz'.repeat(32)}`],
      ['inputHash', undefined],
      ['inputHash', (wire.inputHash as string).slice(0, 65)],
      ['node', undefined],
      ['node', '0xnot-an-address'],
      ['node', 42],
      ['mode', undefined],
      ['mode', '1'],
      ['mode', 1.5],
      ['mode', -1],
      ['mode', 256],
      ['maxFee', undefined],
      ['maxFee', 10 ** 16],
      ['maxFee', '-1'],
      ['maxFee', '1e16'],
      ['maxFee', '0x10'],
      ['maxFee', (2n ** 96n).toString()],
      ['nonce', undefined],
      ['nonce', 'abc'],
      ['nonce', (2n ** 64n).toString()],
      ['deadline', undefined],
      ['deadline', null],
      ['deadline', '01'],
    ]
    return cases.map(([field, value]) => {
      const request = { ...wire }
      if (value === undefined) delete request[field]
      else request[field] = value
      return [field, request]
    })
  }

  it('refuses missing or ill-typed request fields: INVALID_MESSAGE naming the field, nothing recorded', async () => {
    const built = await build()
    const wire = requestToWire(built.request) as unknown as Record<string, unknown>
    for (const [field, request] of badFields(wire)) {
      const error = await refused(post({ ...built.body, request }), 400, 'INVALID_MESSAGE', built.inputHash)
      expect(error.message).toContain(`request.${field}`)
    }
    for (const request of [undefined, null, 'request', [wire]]) {
      const body: Record<string, unknown> = { ...built.body, request }
      if (request === undefined) delete body.request
      const error = await refused(post(body), 400, 'INVALID_MESSAGE', built.inputHash)
      expect(error.message).toMatch(/^request must be an object/)
    }
    expect((await post(built.body)).status).toBe(200)
  })

  it('refuses missing or ill-typed request fields with status 400', async () => {
    const built = await build()
    const wire = requestToWire(built.request) as unknown as Record<string, unknown>
    for (const [, request] of badFields(wire)) await refused(post({ ...built.body, request }), 400, 'INVALID_MESSAGE', built.inputHash)
  })

  it('refuses inputs of the wrong shape: 400 INPUT_SHAPE_MISMATCH (and INPUT_MISSING for a missing tensor)', async () => {
    const built = await build()
    const input = built.inputs.Input3!
    const shapes: { shape: number[]; data: number[] }[] = [
      { shape: [1, 1, 28, 27], data: input.data.slice(0, 756) },
      { shape: [784], data: input.data },
      { shape: [1, 28, 28], data: input.data },
      { shape: [1, 1, 28, 28], data: input.data.slice(0, 783) },
      { shape: [1, 1, 28, 28], data: [...input.data, 0] },
      { shape: [1, 1, 28, 28], data: [] },
    ]
    for (const tensor of shapes)
      await refused(post({ ...built.body, inputs: { Input3: tensor } }), 400, 'INPUT_SHAPE_MISMATCH', built.inputHash)
    await refused(post({ ...built.body, inputs: { Input3: { data: input.data } } }), 400, 'INPUT_SHAPE_MISMATCH', built.inputHash)
    await refused(post({ ...built.body, inputs: { Input3: null } }), 400, 'INPUT_SHAPE_MISMATCH', built.inputHash)
    for (const inputs of [{}, { input: input }, { Input3: input, extra: input }, null, [input], undefined]) {
      const body: Record<string, unknown> = { ...built.body, inputs }
      if (inputs === undefined) delete body.inputs
      await refused(post(body), 400, 'INPUT_MISSING', built.inputHash)
    }
  })

  it('refuses values that are not int16 (a float, a string, out of range, "NaN", null): 400 INPUT_DTYPE_MISMATCH', async () => {
    const built = await build()
    const input = built.inputs.Input3!
    const values: unknown[] = [0.5, '12', 32768, -32769, true, [1], {}, 'NaN', null, 'Infinity', 1e300]
    for (const value of values) {
      const data: unknown[] = [...input.data]
      data[100] = value
      const error = await refused(
        post({ ...built.body, inputs: { Input3: { shape: input.shape, data } } }),
        400,
        'INPUT_DTYPE_MISMATCH',
        built.inputHash,
      )
      expect(error.message).toContain('flat index 100')
    }
    await refused(
      post({ ...built.body, inputs: { Input3: { shape: input.shape, data: 'AAAA' } } }),
      400,
      'INPUT_DTYPE_MISMATCH',
      built.inputHash,
    )
  })

  it('refuses an unknown model id: 404 MODEL_NOT_FOUND', async () => {
    const built = await build({ modelId: `0x${'ab'.repeat(32)}` })
    const error = await refused(post(built.body), 404, 'MODEL_NOT_FOUND', built.inputHash)
    expect(error.message).toContain(`0x${'ab'.repeat(32)}`)
  })

  it('refuses a body over 1 MiB: 413 BODY_TOO_LARGE, with or without a content-length, and keeps serving', async () => {
    const built = await build()
    const big = new TextEncoder().encode(JSON.stringify({ ...built.body, padding: 'x'.repeat(MiB) }))
    expect(big.length).toBeGreaterThan(MiB)
    await refused(rawPost(big, { chunked: false }), 413, 'BODY_TOO_LARGE', built.inputHash)
    // Chunked, no content-length: the limit applies to the bytes actually read.
    await refused(rawPost(big, { chunked: true }), 413, 'BODY_TOO_LARGE', built.inputHash)
    await refused(rawPost(new Uint8Array(8 * MiB).fill(0x20), { chunked: true }), 413, 'BODY_TOO_LARGE')
    // Exactly the limit is read (and answered on its merits).
    const under = JSON.stringify({ ...built.body, padding: '' })
    const padded = JSON.stringify({ ...built.body, padding: 'x'.repeat(MiB - under.length) })
    expect(padded.length).toBe(MiB)
    const answer = await rawPost(new TextEncoder().encode(padded), { chunked: true })
    expect(answer.status, answer.text).toBe(200)
    expect(store().getInference(JSON.parse(answer.text).inferenceId)).toBeDefined()
  })

  // The server does not read the rest of an oversized upload, so the 413 closes the connection: a
  // keep-alive client must get its next answer on a new one, not a broken socket.
  it('after a 413, the next request on the same keep-alive connection is answered', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    try {
      const built = await build()
      const big = new TextEncoder().encode(JSON.stringify({ ...built.body, padding: 'x'.repeat(2 * MiB) }))
      await refused(rawPost(big, { chunked: false, agent }), 413, 'BODY_TOO_LARGE', built.inputHash)
      const next = await rawPost(new TextEncoder().encode(JSON.stringify(built.body)), { chunked: false, agent })
      expect(next.status).toBe(200)
    } finally {
      agent.destroy()
    }
  })

  it('refuses bad signatures: short or not hex 400 INVALID_SIGNATURE, unrecoverable 401 BAD_SIGNATURE, wrong signer pays nothing', async () => {
    const built = await build()
    const sig = built.signature
    for (const signature of [sig.slice(0, 130), `${sig}00`, sig.slice(2), `0x${'zz'.repeat(65)}`, 12, null, undefined, '']) {
      const body: Record<string, unknown> = { ...built.body, signature }
      if (signature === undefined) delete body.signature
      await refused(post(body), 400, 'INVALID_SIGNATURE', built.inputHash)
    }
    // 65 bytes of hex that recover to no address: v out of range, r = s = 0, s = n.
    const n = 'fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141'
    for (const signature of [`${sig.slice(0, 130)}05`, `0x${'00'.repeat(64)}1b`, `0x${sig.slice(2, 66)}${n}1b`]) {
      await refused(post({ ...built.body, signature }), 401, 'BAD_SIGNATURE', built.inputHash)
    }
    // Signed by another account: a valid request of that account, which has no escrow.
    const foreign = await build({}, { account: pauper })
    const error = await refused(post(foreign.body), 402, 'INSUFFICIENT_ESCROW', foreign.inputHash)
    expect(error.message.toLowerCase()).toContain(pauper.address.toLowerCase())
    // A field changed after signing: the signature recovers to some unrelated account with no escrow.
    const tampered = await build()
    const body = { ...tampered.body, request: { ...requestToWire(tampered.request), maxFee: (10n ** 17n).toString() } }
    const tamperedError = await refused(post(body), 402, 'INSUFFICIENT_ESCROW', tampered.inputHash)
    expect(tamperedError.message.toLowerCase()).not.toContain(clientAccount.address.toLowerCase())
  })

  it('a body naming its client: answered when the signature is that client’s; 401 BAD_SIGNATURE when it names a funded client another key signed for; 400 INVALID_CLIENT for a name that is no address', async () => {
    const named = await build()
    const answer = await accepted({ ...named, body: { ...named.body, client: clientAccount.address } } as Built)
    expect(answer.receipt.client.toLowerCase()).toBe(clientAccount.address.toLowerCase())
    // The attacker signs with its own key (no escrow) and names the funded client, whose escrow the node checks first.
    const foreign = await build({}, { account: pauper })
    const error = await refused(post({ ...foreign.body, client: clientAccount.address }), 401, 'BAD_SIGNATURE', foreign.inputHash)
    expect(error.message.toLowerCase()).toContain(pauper.address.toLowerCase())
    // Named in upper case, signed by someone else: the same refusal.
    await refused(post({ ...foreign.body, client: clientAccount.address.toUpperCase().replace('0X', '0x') }), 401, 'BAD_SIGNATURE')
    for (const client of ['0x1234', 42, null, `${clientAccount.address}00`]) {
      await refused(post({ ...named.body, client }), 400, 'INVALID_CLIENT', foreign.inputHash)
    }
    // Naming itself does not get the pauper past its escrow.
    await refused(post({ ...foreign.body, client: pauper.address }), 402, 'INSUFFICIENT_ESCROW', foreign.inputHash)
  })

  it('refuses a replayed request: 409 REQUEST_REPLAYED, also for the same nonce on other inputs and for concurrent copies', async () => {
    const built = await build()
    const first = await accepted(built)
    const error = await refused(post(built.body), 409, 'REQUEST_REPLAYED')
    expect(error.message).toContain(built.request.nonce.toString())
    const sameNonce = await build({ nonce: built.request.nonce })
    await refused(post(sameNonce.body), 409, 'REQUEST_REPLAYED', sameNonce.inputHash)
    expect(store().getInference(first.inferenceId)).toBeDefined()

    // Five copies at once: exactly one is answered.
    const copy = await build()
    const before = store().counts().inferences
    const responses = await Promise.all(Array.from({ length: 5 }, () => post(copy.body)))
    const statuses = responses.map((r) => r.status).sort()
    const codes = responses.map((r) => (JSON.parse(r.text) as Partial<ErrorBody>).error?.code ?? 'OK')
    expect(statuses).toEqual([200, 409, 409, 409, 409])
    expect(codes.filter((c) => c === 'REQUEST_REPLAYED')).toHaveLength(4)
    expect(store().counts().inferences).toBe(before + 1)
    triggered.set('REQUEST_REPLAYED', (triggered.get('REQUEST_REPLAYED') ?? 0) + 4)
  })

  it('answers one request message signed by two clients once for each, each charged its own fee: a replay is the same client and nonce', async () => {
    // Another funded client copies a request's message (not its signature) and signs it with its own key.
    const copier = privateKeyToAccount(net.chain.accounts[5]!.privateKey)
    await depositEscrow(createVerityClient({ chain: net.chain, book: net.book, account: copier }), { amount: 10n * PRICE })
    const original = await build({}, { image: 900 })
    const first = (await accepted(original)) as Awaited<ReturnType<typeof accepted>> & { receipt: { requestHash: string } }
    const charged = store().channel(clientAccount.address.toLowerCase() as Hex).charged
    const { nonce, deadline, channelTotal } = original.request
    const copy = await build({ nonce, deadline, channelTotal }, { account: copier, image: 900 })
    const second = (await accepted(copy)) as typeof first
    expect(second.receipt.requestHash).toBe(first.receipt.requestHash)
    expect(second.receipt.client.toLowerCase()).toBe(copier.address.toLowerCase())
    expect(second.inferenceId).not.toBe(first.inferenceId)
    // Each pays for its own: the first client's channel is charged nothing more.
    expect(store().channel(clientAccount.address.toLowerCase() as Hex).charged).toBe(charged)
    expect(store().channel(copier.address.toLowerCase() as Hex).charged).toBe(PRICE)
    // And either one's copy again is a replay.
    await refused(post(copy.body), 409, 'REQUEST_REPLAYED')
    await refused(post(original.body), 409, 'REQUEST_REPLAYED')
  })

  it('refuses an expired request: 400 REQUEST_EXPIRED', async () => {
    const built = await build({ deadline: BigInt(Math.floor(Date.now() / 1000) - 5) })
    await refused(post(built.body), 400, 'REQUEST_EXPIRED', built.inputHash)
    const zero = await build({ deadline: 0n })
    await refused(post(zero.body), 400, 'REQUEST_EXPIRED', zero.inputHash)
  })

  it('refuses a fee the escrow cannot cover: 402 INSUFFICIENT_ESCROW, counting fees not yet debited', async () => {
    const none = await build({}, { account: pauper })
    const error = await refused(post(none.body), 402, 'INSUFFICIENT_ESCROW', none.inputHash)
    expect(error.details).toMatchObject({ escrow: '0', fee: PRICE.toString() })
    // 1.5 × the price in escrow: one inference, then the outstanding fee leaves too little.
    await accepted(await build({}, { account: shortOfEscrow }))
    const second = await build({}, { account: shortOfEscrow })
    await refused(post(second.body), 402, 'INSUFFICIENT_ESCROW', second.inputHash)
  })

  it('refuses a maxFee below the price: 402 FEE_TOO_LOW', async () => {
    const built = await build({ maxFee: PRICE - 1n })
    const error = await refused(post(built.body), 402, 'FEE_TOO_LOW', built.inputHash)
    expect(error.details).toMatchObject({ price: PRICE.toString(), maxFee: (PRICE - 1n).toString() })
    const zero = await build({ maxFee: 0n })
    await refused(post(zero.body), 402, 'FEE_TOO_LOW', zero.inputHash)
  })

  it('charges exactly what the client signed: a channelTotal that does not cover the charges is 402 CHANNEL_TOTAL_TOO_LOW', async () => {
    const first = await accepted(await build())
    expect(first.receipt.fee).toBe(PRICE.toString())
    const channel = () => store().channel(clientAccount.address.toLowerCase() as Hex)
    // Refused requests earlier left vouchers above the charges: requests repeating the highest total
    // are served while it covers them...
    const { authorized } = channel()
    while (channel().charged + PRICE <= authorized) await accepted(await build({ channelTotal: authorized }))
    // ...and then a voucher that authorizes nothing more is refused, nothing recorded.
    const stale = await build({ channelTotal: authorized })
    const error = await refused(post(stale.body), 402, 'CHANNEL_TOTAL_TOO_LOW', stale.inputHash)
    const charged = channel().charged
    expect(error.details).toMatchObject({ authorized: authorized.toString(), charged: charged.toString(), fee: PRICE.toString() })
    // Two requests signed in order but arriving in reverse order are both served: the higher voucher covers both.
    const a = await build({ channelTotal: charged + PRICE })
    const b = await build({ channelTotal: charged + 2n * PRICE })
    await accepted(b)
    await accepted(a)
    expect(store().channel(clientAccount.address.toLowerCase() as Hex)).toMatchObject({
      authorized: charged + 2n * PRICE,
      charged: charged + 2n * PRICE,
    })
    channelTotals.set(clientAccount.address, charged + 2n * PRICE)
  })

  it('shows a client its channel with the highest voucher it signed (GET /v1/channels/:client)', async () => {
    await accepted(await build())
    const response = await fetch(`${url}/v1/channels/${clientAccount.address}`)
    expect(response.status).toBe(200)
    const body = (await response.json()) as { authorized: string; charged: string; voucher: { request: unknown; signature: Hex } }
    const voucher = requestFromWire(body.voucher.request)
    expect(voucher.channelTotal.toString()).toBe(body.authorized)
    expect(body.authorized).toBe(channelTotals.get(clientAccount.address)!.toString())
    expect(recoverSigner(hashRequest(voucher, net.client.domain), body.voucher.signature)?.toLowerCase()).toBe(
      clientAccount.address.toLowerCase(),
    )
    const bad = await fetch(`${url}/v1/channels/0x1234`)
    expect(bad.status).toBe(400)
  })

  it('refuses a request addressed to another node: 400 WRONG_NODE', async () => {
    const built = await build({ node: privateKeyToAccount(net.chain.accounts[5]!.privateKey).address })
    await refused(post(built.body), 400, 'WRONG_NODE', built.inputHash)
  })

  it('refuses inputs that do not hash to the signed inputHash: 400 INPUT_HASH_MISMATCH', async () => {
    const signed = await build()
    const other = await build()
    await refused(post({ ...signed.body, inputs: other.inputs }), 400, 'INPUT_HASH_MISMATCH', signed.inputHash)
    expect((await fetch(`${url}/v1/data/${other.inputHash}`)).status).toBe(404)
    // One value changed.
    const data = [...signed.inputs.Input3!.data]
    data[0] = data[0]! + 1
    await refused(
      post({ ...signed.body, inputs: { Input3: { shape: signed.inputs.Input3!.shape, data } } }),
      400,
      'INPUT_HASH_MISMATCH',
      signed.inputHash,
    )
  })

  it('refuses mode zk: 400 MODE_UNSUPPORTED', async () => {
    const built = await build({ mode: encodeMode('zk') })
    await refused(post(built.body), 400, 'MODE_UNSUPPORTED', built.inputHash)
  })

  it('refuses a mode byte that names no mode: INVALID_MODE, nothing recorded', async () => {
    for (const mode of [3, 0x80, 0x7f]) {
      const built = await build({ mode })
      await refused(post(built.body), 400, 'INVALID_MODE', built.inputHash)
    }
  })

  it('refuses a mode byte that names no mode with status 400', async () => {
    const built = await build({ mode: 3 })
    await refused(post(built.body), 400, 'INVALID_MODE', built.inputHash)
  })

  it('GET /v1/inferences/:id: 400 INVALID_ID for a malformed id, 404 INFERENCE_NOT_FOUND for an unknown one', async () => {
    for (const id of ['nope', '0x1234', `0x${'g'.repeat(64)}`, `0x${'a'.repeat(65)}`]) {
      for (const path of [`/v1/inferences/${id}`, `/v1/inferences/${id}/proof`]) {
        const response = await fetch(`${url}${path}`)
        expect(response.status).toBe(400)
        expect(((await response.json()) as ErrorBody).error.code).toBe('INVALID_ID')
      }
    }
    for (const path of [`/v1/inferences/0x${'12'.repeat(32)}`, `/v1/inferences/0x${'12'.repeat(32)}/proof`]) {
      const response = await fetch(`${url}${path}`)
      expect(response.status).toBe(404)
      expect(((await response.json()) as ErrorBody).error.code).toBe('INFERENCE_NOT_FOUND')
    }
    const data = await fetch(`${url}/v1/data/nope`)
    expect([data.status, ((await data.json()) as ErrorBody).error.code]).toEqual([400, 'INVALID_HASH'])
    const batch = await fetch(`${url}/v1/batches/0x${'12'.repeat(32)}`)
    expect([batch.status, ((await batch.json()) as ErrorBody).error.code]).toEqual([404, 'BATCH_NOT_FOUND'])
    const route = await fetch(`${url}/v1/nothing`)
    expect([route.status, ((await route.json()) as ErrorBody).error.code]).toEqual([404, 'NOT_FOUND'])
  })

  it('keeps serving: a valid request still succeeds, also through the SDK, and its trust is readable', async () => {
    const built = await build()
    const answer = await accepted(built)
    const state = await fetch(`${url}/v1/inferences/${answer.inferenceId}`)
    expect(state.status).toBe(200)
    expect(((await state.json()) as { inferenceId: string }).inferenceId).toBe(answer.inferenceId)
    const sdk = await infer(net.client, { modelId: net.modelId, inputs: { Input3: mnistImage(net.mnist, nextImage++) }, node: url })
    expect(sdk.inferenceId).toMatch(/^0x[0-9a-f]{64}$/)
  })

  it('/healthz is ok and /metrics counts every refusal by code in Prometheus text', async () => {
    const health = await fetch(`${url}/healthz`)
    expect(health.status).toBe(200)
    const h = (await health.json()) as { ok: boolean; role: string; node: string; inferences: number }
    expect(h).toMatchObject({ ok: true, role: 'inference', node: net.nodes[0]!.node.address })
    expect(h.inferences).toBe(store().counts().inferences)

    const metrics = await fetch(`${url}/metrics`)
    expect(metrics.status).toBe(200)
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/)
    const text = await metrics.text()
    expect(text).toContain('# TYPE verity_node_rejected_total counter')
    const rejected = new Map(
      [...text.matchAll(/^verity_node_rejected_total\{code="([A-Z_]+)"\} (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])] as const),
    )
    expect(triggered.size).toBeGreaterThanOrEqual(14)
    for (const [code, count] of triggered) expect({ code, count: rejected.get(code) }).toEqual({ code, count })
    expect(text).toMatch(/^verity_node_inferences_total\{model="0x[0-9a-f]{8}"\} \d+$/m)
    // Compute time: one observation per answered request, in a Prometheus histogram.
    const computed = Number(/^verity_node_compute_seconds_count (\d+)$/m.exec(text)?.[1])
    expect(computed).toBe(store().counts().inferences)
    expect(text).toMatch(/^verity_node_compute_seconds_bucket\{le="\+Inf"\} \d+$/m)
    expect(text).toMatch(/^verity_node_receipts\{level="EXECUTED"\} \d+$/m)
    // Every line is a comment or a sample.
    for (const line of text.trim().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) \S+ .+|[a-z_]+(\{[^}]*\})? -?[0-9.e+-]+)$/)
  })

  it('/v1/receipts lists every signed receipt in order with its compute time, resumable from a cursor; a bad cursor is a typed 400', async () => {
    const all: { seq: number; inferenceId: string; receipt: { node: string }; signature: string; computeMs: number }[] = []
    let after = 0
    for (;;) {
      const page = (await (await fetch(`${url}/v1/receipts?after=${after}&limit=2`)).json()) as { receipts: typeof all; next: number }
      if (page.receipts.length === 0) {
        expect(page.next).toBe(after)
        break
      }
      expect(page.receipts.length).toBeLessThanOrEqual(2)
      all.push(...page.receipts)
      after = page.next
    }
    expect(all.length).toBe(store().counts().inferences)
    expect(all.map((r) => r.seq)).toEqual([...all.map((r) => r.seq)].sort((a, b) => a - b))
    for (const r of all) {
      expect(r.receipt.node.toLowerCase()).toBe(net.nodes[0]!.node.address.toLowerCase())
      expect(r.inferenceId).toBe(store().getInference(r.inferenceId as Hex)!.id)
      expect(r.computeMs).toBeGreaterThan(0)
    }
    for (const query of ['after=-1', 'after=x', 'limit=0', 'limit=1001', 'limit=1.5']) {
      const refused = await fetch(`${url}/v1/receipts?${query}`)
      expect(refused.status).toBe(400)
      expect(((await refused.json()) as ErrorBody).error.code).toMatch(/^INVALID_(CURSOR|LIMIT)$/)
    }
  })
})
