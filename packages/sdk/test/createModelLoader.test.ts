import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { deployVerity, type EmbeddedChain, startEmbeddedChain, TxSender } from '@verity/chain'
import { identifyModel, type ModelRoots, modelIdOf, modelRegistryAbi } from '@verity/contracts'
import { encodeArtifact, loadModel, type Model } from '@verity/runtime'
import { type Hex, keccak256, parseEventLogs, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createModelLoader, type SdkError } from '../src/index.js'

/** A one-op model; `name` makes its artifact (and so its id) distinct. */
const tiny = (name: string): Uint8Array =>
  encodeArtifact({
    name,
    source: { file: `${name}.onnx`, sha256: '00'.repeat(32), opset: 13 },
    inputs: [0],
    outputs: [1],
    tensors: [
      { name: 'x', kind: 'input', dtype: 'int16', shape: [1, 4], scale: 1 },
      { name: 'y', kind: 'activation', dtype: 'int16', shape: [1, 4], scale: 1 },
    ],
    nodes: [{ name: 'relu', op: 'Relu', inputs: [0], output: 1, attrs: {} }],
    constants: new Map(),
  } satisfies Model)

/**
 * The loader against the real registry on the embedded chain and a hostile artifact server on
 * loopback: `/ok/<name>` serves the artifact, `/tampered/<name>` it with one byte flipped,
 * `/chunked/<name>` it without a content-length, `/slow` headers then nothing, anything else 404.
 */
describe('createModelLoader', () => {
  let chain: EmbeddedChain
  let book: Awaited<ReturnType<typeof deployVerity>>
  let publisher: TxSender
  let server: Server
  let base: string
  const artifacts = new Map(['a', 'b', 'c'].map((n) => [n, tiny(n)]))
  const requests: string[] = []

  /** Registers roots (by default the artifact's own) with a URI; returns the id the registry computed. */
  async function register(uri: string, roots: ModelRoots): Promise<Hex> {
    const result = await publisher.write({
      address: book.contracts.modelRegistry,
      abi: modelRegistryAbi,
      functionName: 'register',
      args: [uri, roots.artifactHash, roots.weightsRoot, roots.graphRoot, roots.specHash],
    })
    return parseEventLogs({ abi: modelRegistryAbi, logs: result.receipt.logs, eventName: 'ModelRegistered' })[0]!.args.modelId
  }
  const rootsOf = (name: string) => identifyModel(loadModel(artifacts.get(name)!))
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (e: SdkError) => e,
    )

  beforeAll(async () => {
    chain = await startEmbeddedChain()
    book = await deployVerity({ chain, deployer: chain.accounts[0]!.privateKey })
    publisher = new TxSender({ chain, account: chain.accounts[1]!.privateKey })
    server = createServer((req, res) => {
      requests.push(req.url!)
      const [, kind, name] = req.url!.split('/')
      const bytes = artifacts.get(name ?? '')
      if (kind === 'slow') return void res.writeHead(200).flushHeaders()
      if (!bytes) return void res.writeHead(404).end()
      if (kind === 'ok') return void res.writeHead(200, { 'content-length': bytes.length }).end(bytes)
      if (kind === 'tampered') return void res.writeHead(200).end(bytes.map((b, i) => (i === bytes.length - 1 ? b ^ 1 : b)))
      if (kind === 'chunked') {
        res.writeHead(200)
        for (let i = 0; i < bytes.length; i += 64) res.write(bytes.subarray(i, i + 64))
        return void res.end()
      }
      res.writeHead(404).end()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    server.closeAllConnections()
    server.close()
    await chain.close()
  })

  it('loads a registered model whose bytes and roots check out, once, and its id is the one the registry computed', async () => {
    const id = await register(`${base}/ok/a`, rootsOf('a'))
    expect(id).toBe(rootsOf('a').modelId)
    const loader = createModelLoader({ chain, book })
    const [first, again] = await Promise.all([loader.load(id), loader.load(id)])
    expect(first).toBe(again)
    expect(Buffer.from(first.artifact).equals(artifacts.get('a')!)).toBe(true)
    expect(await loader.load(id.toUpperCase().replace('0X', '0x') as Hex)).toBe(first)
    expect(requests.filter((r) => r === '/ok/a')).toHaveLength(1)
    expect(loader.cachedBytes()).toBe(artifacts.get('a')!.length)
  })

  it('refuses a record whose roots are not the artifact’s (MODEL_ROOTS_MISMATCH); the honest id keeps loading', async () => {
    // The squatter registers first: model b's artifact with a graph root no artifact has.
    const b = rootsOf('b')
    const wrong = { ...b, graphRoot: keccak256(toHex('not the graph')) }
    const squatted = await register(`${base}/ok/b`, wrong)
    expect(squatted).toBe(modelIdOf(wrong))
    expect(squatted).not.toBe(b.modelId)
    const honest = await register(`${base}/ok/b`, b)
    expect(honest).toBe(b.modelId)
    const loader = createModelLoader({ chain, book })
    const error = await failure(loader.load(squatted))
    expect(error).toMatchObject({
      code: 'MODEL_ROOTS_MISMATCH',
      details: { modelId: squatted, differ: ['graphRoot'], expected: { graphRoot: wrong.graphRoot }, found: { graphRoot: b.graphRoot } },
    })
    expect((await loader.load(honest)).artifactHash).toBe(b.artifactHash)
  })

  it('refuses tampered bytes, oversize artifacts (declared or streamed) and a source that stalls, each with its code', async () => {
    const c = rootsOf('c')
    const tampered = await register(`${base}/tampered/c`, { ...c, specHash: keccak256(toHex('1')) })
    const chunked = await register(`${base}/chunked/c`, { ...c, specHash: keccak256(toHex('2')) })
    const declared = await register(`${base}/ok/c`, { ...c, specHash: keccak256(toHex('3')) })
    const slow = await register(`${base}/slow/c`, { ...c, specHash: keccak256(toHex('4')) })
    const loader = createModelLoader({ chain, book, maxBytes: 100, timeoutMs: 300 })
    expect(await failure(createModelLoader({ chain, book }).load(tampered))).toMatchObject({
      code: 'MODEL_HASH_MISMATCH',
      details: { expected: c.artifactHash, url: `${base}/tampered/c` },
    })
    expect(await failure(loader.load(chunked))).toMatchObject({ code: 'MODEL_TOO_LARGE', details: { expected: 100 } })
    expect(await failure(loader.load(declared))).toMatchObject({ code: 'MODEL_TOO_LARGE', details: { found: artifacts.get('c')!.length } })
    expect(await failure(loader.load(slow))).toMatchObject({ code: 'MODEL_FETCH_TIMEOUT', details: { timeoutMs: 300 } })
    expect(await failure(loader.load(`0x${'ab'.repeat(32)}`))).toMatchObject({ code: 'MODEL_NOT_REGISTERED' })
    expect(loader.cachedBytes()).toBe(0)
  })

  it('tries its hubs before the registered URI, and keeps at most cacheBytes, least recently used out first', async () => {
    const c = rootsOf('c')
    const id = await register(`${base}/ok/c`, c)
    const size = artifacts.get('c')!.length
    const fetchesOfC = () => requests.filter((r) => r === '/ok/c').length
    const before = fetchesOfC()
    const loader = createModelLoader({ chain, book, hubs: [`${base}/missing`], cacheBytes: size })
    expect((await loader.load(id)).artifactHash).toBe(c.artifactHash)
    expect(requests.slice(-2)).toEqual([`/missing/v1/models/${id}`, '/ok/c'])
    await loader.load(rootsOf('a').modelId)
    expect(loader.cachedBytes()).toBe(artifacts.get('a')!.length)
    await loader.load(id)
    expect(fetchesOfC()).toBe(before + 2)
    // A server's loader that never fetches a registered URI: only its hubs.
    expect(await failure(createModelLoader({ chain, book, hubs: [`${base}/missing`], registeredUri: false }).load(id))).toMatchObject({
      code: 'MODEL_FETCH_FAILED',
      details: { url: `${base}/missing/v1/models/${id}`, status: 404 },
    })
    // Every source failing: one typed error listing each attempt.
    const none = await register(`${base}/nothing`, { ...c, specHash: keccak256(toHex('5')) })
    expect(await failure(loader.load(none))).toMatchObject({
      code: 'MODEL_FETCH_FAILED',
      details: { attempts: [{ code: 'MODEL_FETCH_FAILED' }, { code: 'MODEL_FETCH_FAILED' }] },
    })
  })
})
