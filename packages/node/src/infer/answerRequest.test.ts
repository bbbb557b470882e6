import {
  hashReceipt,
  hashRequest,
  inputsToWire,
  int16ToBase64,
  rawFromWire,
  receiptToWire,
  recoverSigner,
  requestToWire,
} from '@verity/contracts'
import { runQuantized, tensorsHash } from '@verity/runtime'
import type { Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { clientAccount, domain, mnist8, nodeAccount, nodeKey, otherClient, PRICE, refusal, signedInfer } from '../../test/inferFixture.js'
import { type AnswerJob, answerRequest } from './answerRequest.js'
import type { Executor } from './executeRequest.js'

const client = clientAccount.address.toLowerCase() as Hex

async function jobFor(image: number, claimed = false): Promise<AnswerJob> {
  const signed = await signedInfer(image)
  return {
    request: signed.request,
    requestHash: hashRequest(signed.request, domain),
    signature: signed.signature,
    client,
    claimed,
    inputs: signed.inputs,
    fee: PRICE,
    nowMs: 1_800_000_000_500,
  }
}

/** An executor that counts its runs (the integer runtime's answer). */
function counting() {
  const runs: number[] = []
  const executor: Executor = (model, inputs) => {
    runs.push(1)
    return runQuantized(model, inputs).outputs
  }
  return { executor, runs }
}

describe('answerRequest', () => {
  const context = () => ({ model: mnist8().model, node: nodeAccount.address, key: nodeKey, domain })

  it('runs the model and answers with a receipt signed by the node, and the JSON the node stores and sends', async () => {
    const { model } = mnist8()
    const job = await jobFor(7)
    const answer = answerRequest(job, context())
    const outputs = runQuantized(model, job.inputs).outputs
    expect(answer.receipt).toEqual({
      requestHash: job.requestHash,
      modelId: job.request.modelId,
      inputHash: job.request.inputHash,
      outputHash: tensorsHash(outputs),
      node: nodeAccount.address,
      client,
      fee: PRICE,
      issuedAt: 1_800_000_000n,
      mode: job.request.mode,
    })
    expect(answer.id).toBe(hashReceipt(answer.receipt, domain))
    expect(recoverSigner(answer.id, answer.signature)).toBe(nodeAccount.address)
    expect(answer.inputHash).toBe(job.request.inputHash)
    expect(answer.computeMs).toBeGreaterThan(0)
    expect(JSON.parse(answer.requestJson)).toEqual(JSON.parse(JSON.stringify(requestToWire(job.request))))
    expect(JSON.parse(answer.inputBody)).toEqual(JSON.parse(JSON.stringify(inputsToWire(model, job.inputs))))
    const body = JSON.parse(answer.body)
    expect(body).toEqual({
      inferenceId: answer.id,
      receipt: JSON.parse(JSON.stringify(receiptToWire(answer.receipt))),
      signature: answer.signature,
      outputs: { Plus214_Output_0: expect.objectContaining({ shape: [1, 10], raw: Array.from(outputs[0]!) }) },
    })
    const scale = body.outputs.Plus214_Output_0.scale
    expect(body.outputs.Plus214_Output_0.values).toEqual(Array.from(outputs[0]!, (v) => v * scale))
    // Stored: the outputs without their values (raw · scale, derived), raw in base64.
    const { values: _, ...stored } = body.outputs.Plus214_Output_0
    expect(JSON.parse(answer.outputsJson)).toEqual({ Plus214_Output_0: { ...stored, raw: int16ToBase64(outputs[0]!) } })
    expect(JSON.parse(answer.receiptJson)).toEqual(body.receipt)
  })

  it('answers without values when the body asked for none, with the same receipt', async () => {
    const job = await jobFor(7)
    const full = answerRequest(job, context())
    const bare = answerRequest({ ...job, values: false }, context())
    expect(bare.id).toBe(full.id)
    const [withValues, without] = [full, bare].map((a) => JSON.parse(a.body).outputs.Plus214_Output_0)
    expect(without).toEqual({ shape: withValues.shape, scale: withValues.scale, raw: withValues.raw })
    expect(bare.outputsJson).toBe(full.outputsJson)
  })

  it('writes raw in base64 when the body asks for it, with or without values, the same receipt', async () => {
    const job = await jobFor(7)
    const json = answerRequest(job, context())
    const outputs = runQuantized(mnist8().model, job.inputs).outputs
    for (const values of [false, true]) {
      const answer = answerRequest({ ...job, values, encoding: 'base64' }, context())
      expect(answer.id).toBe(json.id)
      const tensor = JSON.parse(answer.body).outputs.Plus214_Output_0
      expect(tensor.raw).toBe(int16ToBase64(outputs[0]!))
      expect(rawFromWire(tensor.raw)).toEqual(outputs[0])
      expect('values' in tensor).toBe(values)
      expect(answer.outputsJson).toBe(json.outputsJson)
    }
  })

  it('for a client the body named: answers when the signature is that client’s', async () => {
    const answer = answerRequest(await jobFor(3, true), context())
    expect(answer.receipt.client).toBe(client)
  })

  it('refuses before the run: a signature that is not the named client’s, inputs that are not the signed ones', async () => {
    const { executor, runs } = counting()
    const job = await jobFor(2, true)
    const other = await signedInfer(3)
    const stolen = await signedInfer(2, {}, otherClient)
    const outcomes = {
      // An attacker names a funded client and signs with its own key (the client's escrow was checked, not its signature).
      'signed by another key': await refusal(() =>
        answerRequest(
          { ...job, signature: stolen.signature, requestHash: hashRequest(stolen.request, domain) },
          { ...context(), executor },
        ),
      ),
      'a signature of zeros': await refusal(() => answerRequest({ ...job, signature: `0x${'00'.repeat(65)}` }, { ...context(), executor })),
      'another digit’s inputs': await refusal(() => answerRequest({ ...job, inputs: other.inputs }, { ...context(), executor })),
      'no inputs': await refusal(() => answerRequest({ ...job, inputs: [] }, { ...context(), executor })),
    }
    expect(outcomes).toEqual({
      'signed by another key': [401, 'BAD_SIGNATURE'],
      'a signature of zeros': [401, 'BAD_SIGNATURE'],
      'another digit’s inputs': [400, 'INPUT_HASH_MISMATCH'],
      'no inputs': [400, 'INPUT_HASH_MISMATCH'],
    })
    expect(runs).toEqual([])
  })

  it('runs the executor it is given, and signs what it answered', async () => {
    const constant: Executor = () => [Int16Array.from({ length: 10 }, (_, k) => k)]
    const answer = answerRequest(await jobFor(5), { ...context(), executor: constant })
    expect(answer.receipt.outputHash).toBe(tensorsHash([Int16Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])]))
    expect(rawFromWire(JSON.parse(answer.outputsJson).Plus214_Output_0.raw)).toEqual(Int16Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]))
  })
})
