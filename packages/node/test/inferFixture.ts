import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { eip712Types, encodeMode, hashRequest, type InferenceRequest, inputsToWire, requestToWire, verityDomain } from '@verity/contracts'
import { importOnnx, type LoadedModel, loadMnist, loadModel, type MnistSet, mnistImage, quantizeInputs, tensorsHash } from '@verity/runtime'
import type { Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { type Answer, answerRequest } from '../src/infer/answerRequest.js'
import { ReceiptStore } from '../src/receiptStore.js'

const data = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'data')

/** Fixed keys: the node and two clients of the unit tests of `/v1/infer`'s steps. */
export const nodeKey: Hex = `0x${'11'.repeat(32)}`
export const nodeAccount = privateKeyToAccount(nodeKey)
export const clientAccount = privateKeyToAccount(`0x${'22'.repeat(32)}`)
export const otherClient = privateKeyToAccount(`0x${'33'.repeat(32)}`)
export const domain = { chainId: 31337, settlement: '0x5FbDB2315678afecb367f032d93F642f64180aa3' as Hex }
export const PRICE = 10n ** 15n

let cached: { model: LoadedModel; mnist: MnistSet } | undefined

/** mnist-8 from the repository's data/, imported with 20 calibration digits (once per test file), and the MNIST test set. */
export function mnist8(): { model: LoadedModel; mnist: MnistSet } {
  if (cached) return cached
  const mnist = loadMnist(join(data, 'datasets', 'mnist'))
  const calibration = Array.from({ length: 20 }, (_, i) => ({ Input3: mnistImage(mnist, mnist.count - 1 - i) }))
  const { artifact } = importOnnx(readFileSync(join(data, 'models', 'mnist-8.onnx')), { calibration, fileName: 'mnist-8.onnx' })
  cached = { model: loadModel(artifact), mnist }
  return cached
}

export type SignedInfer = {
  request: InferenceRequest
  signature: Hex
  inputs: Int16Array[]
  /** The body a client posts to `/v1/infer`. */
  body: { request: ReturnType<typeof requestToWire>; signature: Hex; inputs: ReturnType<typeof inputsToWire> }
}

let nonce = 1n

/** A request for MNIST digit `image` signed by `account`, as the SDK builds it (fresh nonce, deadline a minute ahead). */
export async function signedInfer(
  image: number,
  overrides: Partial<InferenceRequest> = {},
  account = clientAccount,
  nowMs = Date.now(),
): Promise<SignedInfer> {
  const { model, mnist } = mnist8()
  const inputs = quantizeInputs(model, { Input3: mnistImage(mnist, image) })
  const request: InferenceRequest = {
    modelId: `0x${'ab'.repeat(32)}`,
    inputHash: tensorsHash(inputs),
    node: nodeAccount.address,
    mode: encodeMode('optimistic'),
    maxFee: PRICE,
    nonce: nonce++,
    deadline: BigInt(Math.floor(nowMs / 1000) + 60),
    channelTotal: PRICE,
    ...overrides,
  }
  const signature = await account.signTypedData({
    domain: verityDomain(domain),
    types: eip712Types,
    primaryType: 'InferenceRequest',
    message: request,
  })
  return { request, signature, inputs, body: { request: requestToWire(request), signature, inputs: inputsToWire(model, inputs) } }
}

/** The node's honest answer to `signed` (from `clientAccount`) at `fee`, as `answerRequest` computes it. */
export function honestAnswer(signed: SignedInfer, fee: bigint, nowMs: number): Answer {
  return answerRequest(
    {
      request: signed.request,
      requestHash: hashRequest(signed.request, domain),
      signature: signed.signature,
      client: clientAccount.address.toLowerCase() as Hex,
      claimed: false,
      inputs: signed.inputs,
      fee,
      nowMs,
    },
    { model: mnist8().model, node: nodeAccount.address, key: nodeKey, domain },
  )
}

/** A fresh receipt store in a temporary directory (real SQLite). */
export function freshStore(): ReceiptStore {
  return new ReceiptStore(join(mkdtempSync(join(tmpdir(), 'verity-steps-')), 'receipts.sqlite'))
}

/** The `[status, code]` a step's refusal maps to over HTTP, or 'no error'. */
export async function refusal(step: () => unknown): Promise<[number, string] | 'no error'> {
  const { httpStatusOf } = await import('../src/errors.js')
  try {
    await step()
    return 'no error'
  } catch (error) {
    return [httpStatusOf(error), (error as { code?: string }).code ?? String(error)]
  }
}
