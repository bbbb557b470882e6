import { hashRequest } from '@verity/contracts'
import { describe, expect, it } from 'vitest'
import { clientAccount, domain, mnist8, otherClient, refusal, signedInfer } from '../../test/inferFixture.js'
import { authoriseRequest } from './authoriseRequest.js'

describe('authoriseRequest', () => {
  it('names the signer as the client and binds the decoded inputs to the signed input hash', async () => {
    const { model } = mnist8()
    const signed = await signedInfer(1)
    const authorised = authoriseRequest({ ...signed, inputs: signed.body.inputs, model, domain })
    expect(authorised).toEqual({
      requestHash: hashRequest(signed.request, domain),
      client: clientAccount.address.toLowerCase(),
      inputs: signed.inputs,
      inputHash: signed.request.inputHash,
    })
  })

  it('names whoever signed: a request signed by another key is that key’s', async () => {
    const { model } = mnist8()
    const signed = await signedInfer(1, {}, otherClient)
    expect(authoriseRequest({ ...signed, inputs: signed.body.inputs, model, domain }).client).toBe(otherClient.address.toLowerCase())
  })

  it('the same signature under another chain’s domain recovers to someone else', async () => {
    const { model } = mnist8()
    const signed = await signedInfer(1)
    const elsewhere = authoriseRequest({ ...signed, inputs: signed.body.inputs, model, domain: { ...domain, chainId: 1 } })
    expect(elsewhere.client).not.toBe(clientAccount.address.toLowerCase())
  })

  it('refuses a signature that recovers to no address, inputs that are not the signed ones, and inputs of the wrong shape', async () => {
    const { model } = mnist8()
    const signed = await signedInfer(2)
    const other = await signedInfer(3)
    const outcomes = {
      'a signature of zeros': await refusal(() =>
        authoriseRequest({ ...signed, signature: `0x${'00'.repeat(65)}`, inputs: signed.body.inputs, model, domain }),
      ),
      'another digit’s inputs': await refusal(() => authoriseRequest({ ...signed, inputs: other.body.inputs, model, domain })),
      'no inputs': await refusal(() => authoriseRequest({ ...signed, inputs: {}, model, domain })),
      'a tensor of the wrong shape': await refusal(() =>
        authoriseRequest({ ...signed, inputs: { Input3: { shape: [1, 1, 28], data: [0] } }, model, domain }),
      ),
    }
    expect(outcomes).toEqual({
      'a signature of zeros': [401, 'BAD_SIGNATURE'],
      'another digit’s inputs': [400, 'INPUT_HASH_MISMATCH'],
      'no inputs': [400, expect.stringMatching(/^INPUT_/)],
      'a tensor of the wrong shape': [400, expect.stringMatching(/^INPUT_/)],
    })
  })
})
