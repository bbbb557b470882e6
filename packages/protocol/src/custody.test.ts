import type { Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { custodyProblem } from './custody.js'
import type { InferenceRequest, Receipt } from './eip712.js'
import { hashReceipt, hashRequest } from './hashing.js'

const domain = { chainId: 31337, settlement: '0x5FbDB2315678afecb367f032d93F642f64180aa3' as Hex }
const client = privateKeyToAccount(`0x${'11'.repeat(32)}`)
const node = privateKeyToAccount(`0x${'22'.repeat(32)}`)
const other = privateKeyToAccount(`0x${'33'.repeat(32)}`)

const request: InferenceRequest = {
  modelId: `0x${'aa'.repeat(32)}`,
  inputHash: `0x${'bb'.repeat(32)}`,
  node: node.address,
  mode: 1,
  maxFee: 1000n,
  nonce: 7n,
  deadline: 2_000_000_000n,
  channelTotal: 5000n,
}

async function custody(
  overrides: {
    receipt?: Partial<Receipt>
    request?: Partial<InferenceRequest>
    signer?: typeof client
    nodeSigner?: typeof node
    committer?: Hex
  } = {},
) {
  const req = { ...request, ...overrides.request }
  const receipt: Receipt = {
    requestHash: hashRequest(req, domain),
    modelId: req.modelId,
    inputHash: req.inputHash,
    outputHash: `0x${'cc'.repeat(32)}`,
    node: node.address,
    client: client.address,
    fee: 1000n,
    issuedAt: 1n,
    mode: 1,
    ...overrides.receipt,
  }
  const clientSignature = await (overrides.signer ?? client).sign({ hash: hashRequest(req, domain) })
  const signature = await (overrides.nodeSigner ?? node).sign({ hash: hashReceipt(receipt, domain) })
  // The request a node shows may differ from the one the receipt answers (a swap): sign the shown one.
  return custodyProblem({ receipt, signature, request: req, clientSignature, committer: overrides.committer ?? node.address, domain })
}

describe('custodyProblem: the on-chain binding rules, checked off-chain by verifiers', () => {
  it('accepts a receipt bound to the request its client signed', async () => {
    expect(await custody()).toBeUndefined()
  })
  it('names each break', async () => {
    expect(await custody({ committer: other.address })).toMatch(/committed by/)
    expect(await custody({ nodeSigner: other })).toMatch(/not signed by its node/)
    expect(await custody({ signer: other })).toMatch(/not signed by the receipt's client/)
    expect(await custody({ receipt: { requestHash: `0x${'dd'.repeat(32)}` } })).toMatch(/the receipt answers/)
    expect(await custody({ receipt: { modelId: `0x${'ee'.repeat(32)}` } })).toMatch(/asked for model/)
    expect(await custody({ receipt: { inputHash: `0x${'ee'.repeat(32)}` } })).toMatch(/sent input/)
    expect(await custody({ receipt: { mode: 2 } })).toMatch(/asked for mode/)
    expect(await custody({ receipt: { fee: 1001n } })).toMatch(/above the 1000 the client allowed/)
  })
})
