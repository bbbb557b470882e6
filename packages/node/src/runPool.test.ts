import { hashRequest } from '@verity/contracts'
import { loadModel } from '@verity/runtime'
import type { Hex } from 'viem'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { clientAccount, domain, mnist8, nodeAccount, nodeKey, otherClient, PRICE, refusal, signedInfer } from '../test/inferFixture.js'
import { type AnswerJob, answerRequest } from './infer/answerRequest.js'
import { createRunPool } from './runPool.js'

const signer = { node: nodeAccount.address, key: nodeKey, domain }

async function jobFor(image: number, account = clientAccount): Promise<AnswerJob> {
  const signed = await signedInfer(image, {}, account)
  return {
    request: signed.request,
    requestHash: hashRequest(signed.request, domain),
    signature: signed.signature,
    client: clientAccount.address.toLowerCase() as Hex,
    claimed: true,
    inputs: signed.inputs,
    fee: PRICE,
    nowMs: 1_800_000_000_000,
  }
}
/** An answer without its run time (the one thing two runs of a request do not share). */
const timeless = ({ computeMs, ...rest }: { computeMs: number }) => {
  expect(computeMs).toBeGreaterThan(0)
  return rest
}

describe('createRunPool', () => {
  const pool = createRunPool(2, { signer })
  afterAll(() => pool.close())

  it('answers what answerRequest answers on the event loop, for many requests in flight over two workers', async () => {
    const { model } = mnist8()
    const jobs = await Promise.all(Array.from({ length: 12 }, (_, i) => jobFor(i)))
    const answers = await Promise.all(jobs.map((job) => pool.answer(model, job)))
    expect(answers.map(timeless)).toEqual(jobs.map((job) => timeless(answerRequest(job, { ...signer, model }))))
  })

  it('a model is told apart by its artifact: another artifact, another model', async () => {
    const { model } = mnist8()
    const copy = loadModel(Uint8Array.from(model.artifact))
    const job = await jobFor(1)
    expect(timeless(await pool.answer(copy, job))).toEqual(timeless(answerRequest(job, { ...signer, model })))
  })

  it('a refusal in a worker keeps its status and code, and the worker serves the next request', async () => {
    const { model } = mnist8()
    const job = await jobFor(2)
    const stolen = await jobFor(2, otherClient)
    const other = await jobFor(3)
    expect({
      'signed by another key than the named client': await refusal(() =>
        pool.answer(model, { ...job, signature: stolen.signature, requestHash: stolen.requestHash }),
      ),
      'inputs that are not the signed ones': await refusal(() => pool.answer(model, { ...job, inputs: other.inputs })),
      'a tensor of another length': await refusal(() => pool.answer(model, { ...job, inputs: [new Int16Array(3)] })),
      // Not a refusal: the worker fails to sign a fee no receipt can carry (500).
      'a fee beyond uint96': await refusal(() => pool.answer(model, { ...job, fee: 1n << 96n })),
    }).toEqual({
      'signed by another key than the named client': [401, 'BAD_SIGNATURE'],
      'inputs that are not the signed ones': [400, 'INPUT_HASH_MISMATCH'],
      'a tensor of another length': [400, 'INPUT_HASH_MISMATCH'],
      'a fee beyond uint96': [500, expect.stringMatching(/the request failed in its worker: .*uint96/)],
    })
    expect((await pool.answer(model, job)).receipt.client).toBe(job.client)
  })

  it('a model the worker failed to load is sent again with the next request for it', async () => {
    const { model } = mnist8()
    const job = await jobFor(4)
    // The same key twice: first bytes that do not load (what a failed load looks like), then the model's own.
    const key: Hex = `0x${'77'.repeat(32)}`
    const broken = { ...model, artifactHash: key, artifact: Uint8Array.from([1, 2, 3]) }
    expect((await refusal(() => pool.answer(broken, job)))[0]).toBeGreaterThanOrEqual(400)
    const again = await Promise.all([0, 1].map(() => pool.answer({ ...model, artifactHash: key }, job)))
    expect(again.map(timeless)).toEqual([0, 1].map(() => timeless(answerRequest(job, { ...signer, model }))))
  })

  it('starts its first worker at once, the others when a request first needs them, and answers in the first `workers` only', async () => {
    const { model } = mnist8()
    const lazy = createRunPool(3, { signer })
    try {
      expect(lazy.threads()).toHaveLength(1)
      const jobs = await Promise.all(Array.from({ length: 6 }, (_, i) => jobFor(i)))
      const expected = jobs.map((job) => timeless(answerRequest(job, { ...signer, model })))
      // One at a time, any worker allowed: the started one, idle each time, answers them all.
      for (const job of jobs.slice(0, 3)) expect(timeless(await lazy.answer(model, job))).toEqual(expected[jobs.indexOf(job)])
      expect(lazy.threads()).toHaveLength(1)
      // Six in flight, one worker allowed: one thread answers them all.
      expect((await Promise.all(jobs.map((job) => lazy.answer(model, job, 1)))).map(timeless)).toEqual(expected)
      expect(lazy.threads()).toHaveLength(1)
      // Any of the three: the six spread over all of them.
      expect((await Promise.all(jobs.map((job) => lazy.answer(model, job)))).map(timeless)).toEqual(expected)
      expect(lazy.threads()).toHaveLength(3)
    } finally {
      await lazy.close()
    }
    await expect(lazy.answer(model, await jobFor(1))).rejects.toThrow(/the run pool is closed/)
  })

  it('a quick model whose one worker died is answered by another until that one is replaced', async () => {
    const { model } = mnist8()
    const pair = createRunPool(2, { signer, restartDelayMs: 60_000 })
    try {
      const job = await jobFor(5)
      const expected = timeless(answerRequest(job, { ...signer, model }))
      expect(timeless(await pair.answer(model, job, 1))).toEqual(expected)
      await pair.threads()[0]!.terminate()
      // The other slot starts its worker and loads the model meanwhile: on a busy machine, seconds.
      await vi.waitFor(() => expect(pair.answer(model, job, 1)).resolves.toBeDefined(), { timeout: 15_000 })
      expect(timeless(await pair.answer(model, job, 1))).toEqual(expected)
      expect(pair.threads()).toHaveLength(2)
      expect(pair.restarts()).toBe(0)
    } finally {
      await pair.close()
    }
  })

  it('a worker that dies fails the requests it held and is replaced: the next are answered, the model sent again', async () => {
    const { model } = mnist8()
    const crashing = createRunPool(1, { signer, restartDelayMs: 0 })
    try {
      const job = await jobFor(3)
      const expected = timeless(answerRequest(job, { ...signer, model }))
      expect(timeless(await crashing.answer(model, job))).toEqual(expected)
      // What a crash looks like from the pool: the thread ends while a request is in flight.
      const held = crashing.answer(model, job)
      await crashing.threads()[0]!.terminate()
      await expect(held).rejects.toThrow(/model worker exited/)
      await vi.waitFor(() => expect(crashing.restarts()).toBe(1))
      const again = await Promise.all([crashing.answer(model, job), crashing.answer(model, job)])
      expect(again.map(timeless)).toEqual([expected, expected])
    } finally {
      await crashing.close()
    }
  })
})
