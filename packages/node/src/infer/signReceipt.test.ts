import { hashReceipt, hashRequest, recoverSigner } from '@verity/contracts'
import { runQuantized, tensorsHash } from '@verity/runtime'
import type { Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { clientAccount, domain, mnist8, nodeAccount, nodeKey, PRICE, signedInfer } from '../../test/inferFixture.js'
import { signReceipt } from './signReceipt.js'

describe('signReceipt', () => {
  it('signs, with the node’s key, a receipt binding request, model, inputs, outputs, client, fee and time', async () => {
    const { model } = mnist8()
    const { request, inputs } = await signedInfer(6, { maxFee: 2n * PRICE })
    const outputs = runQuantized(model, inputs).outputs
    const requestHash = hashRequest(request, domain)
    const client = clientAccount.address.toLowerCase() as Hex
    const nowMs = 1_800_000_123_999
    const { receipt, id, signature } = signReceipt({
      request,
      requestHash,
      inputHash: request.inputHash,
      outputs,
      client,
      fee: 2n * PRICE,
      nowMs,
      node: nodeAccount.address,
      key: nodeKey,
      domain,
    })
    expect(receipt).toEqual({
      requestHash,
      modelId: request.modelId,
      inputHash: request.inputHash,
      outputHash: tensorsHash(outputs),
      node: nodeAccount.address,
      client,
      fee: 2n * PRICE,
      issuedAt: 1_800_000_123n,
      mode: request.mode,
    })
    expect(id).toBe(hashReceipt(receipt, domain))
    expect(recoverSigner(id, signature)).toBe(nodeAccount.address)
    // The signature viem's account makes for the same digest.
    expect(signature).toBe(await nodeAccount.sign({ hash: id }))
  })

  it('other outputs, another receipt id', async () => {
    const { model } = mnist8()
    const { request, inputs } = await signedInfer(6)
    const outputs = runQuantized(model, inputs).outputs
    const base = {
      request,
      requestHash: hashRequest(request, domain),
      inputHash: request.inputHash,
      client: clientAccount.address.toLowerCase() as Hex,
      fee: PRICE,
      nowMs: 1_800_000_000_000,
      node: nodeAccount.address,
      key: nodeKey,
      domain,
    }
    const honest = signReceipt({ ...base, outputs })
    const flipped = outputs.map((o) => Int16Array.from(o))
    flipped[0]![0]! += 1
    expect(signReceipt({ ...base, outputs: flipped }).id).not.toBe(honest.id)
  })
})
