import { hashRequest } from '@verity/contracts'
import type { Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { clientAccount, domain, otherClient, refusal, signedInfer } from '../../test/inferFixture.js'
import { authoriseRequest } from './authoriseRequest.js'

describe('authoriseRequest', () => {
  it('names the signer as the client, over the request’s EIP-712 hash', async () => {
    const signed = await signedInfer(1)
    expect(authoriseRequest({ ...signed, domain })).toEqual({
      requestHash: hashRequest(signed.request, domain),
      client: clientAccount.address.toLowerCase(),
      claimed: false,
    })
  })

  it('names whoever signed: a request signed by another key is that key’s', async () => {
    const signed = await signedInfer(1, {}, otherClient)
    expect(authoriseRequest({ ...signed, domain }).client).toBe(otherClient.address.toLowerCase())
  })

  it('the same signature under another chain’s domain recovers to someone else', async () => {
    const signed = await signedInfer(1)
    expect(authoriseRequest({ ...signed, domain: { ...domain, chainId: 1 } }).client).not.toBe(clientAccount.address.toLowerCase())
  })

  it('takes the client the body names without recovering (answerRequest checks it before the run)', async () => {
    const signed = await signedInfer(2)
    const named = otherClient.address as Hex
    // Even a signature of zeros: nothing is recovered here.
    expect(authoriseRequest({ ...signed, signature: `0x${'00'.repeat(65)}`, claimedClient: named, domain })).toEqual({
      requestHash: hashRequest(signed.request, domain),
      client: named.toLowerCase(),
      claimed: true,
    })
  })

  it('refuses a signature that recovers to no address', async () => {
    const signed = await signedInfer(2)
    expect(await refusal(() => authoriseRequest({ ...signed, signature: `0x${'00'.repeat(65)}`, domain }))).toEqual([401, 'BAD_SIGNATURE'])
  })
})
