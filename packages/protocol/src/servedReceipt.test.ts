import type { Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { NO_DECOYS_COMMIT } from './decoys.js'
import { eip712Types, verityDomain } from './eip712.js'
import { hashReceipt } from './hashing.js'
import { buildBatchTree } from './receiptTree.js'
import { checkServedReceipt, ReceiptIdMismatchError, ReceiptNotInBatchError, ReceiptSignatureError } from './servedReceipt.js'
import { receiptFromWire, WireFormatError } from './wire.js'

const domain = { chainId: 31337, settlement: '0x5FbDB2315678afecb367f032d93F642f64180aa3' as Hex }
const node = privateKeyToAccount(`0x${'11'.repeat(32)}`)
const other = privateKeyToAccount(`0x${'22'.repeat(32)}`)
const h = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as Hex
const wire = (n: number) => ({
  requestHash: h(1000 + n),
  modelId: h(7),
  inputHash: h(2000 + n),
  outputHash: h(3000 + n),
  node: node.address,
  client: other.address,
  fee: '1000',
  issuedAt: String(1_700_000_000 + n),
  mode: 0,
})
const sign = (w: unknown, by = node) =>
  by.signTypedData({ domain: verityDomain(domain), types: eip712Types, primaryType: 'Receipt', message: receiptFromWire(w) })

describe('checkServedReceipt: what a client accepts from a node', () => {
  const receipts = Array.from({ length: 5 }, (_, n) => wire(n))
  const ids = receipts.map((r) => hashReceipt(receiptFromWire(r), domain))
  const tree = buildBatchTree(ids, NO_DECOYS_COMMIT)
  const batch = { root: tree.root, count: ids.length }

  it('accepts the receipt asked for, signed by its node, proven in the committed root', async () => {
    const receipt = checkServedReceipt({
      inferenceId: ids[2]!,
      receipt: receipts[2],
      signature: await sign(receipts[2]),
      domain,
      inclusion: { ...batch, index: 2, proof: tree.proof(2) },
    })
    expect(receipt).toEqual(receiptFromWire(receipts[2]))
  })

  it('refuses another receipt served for the id, even with its valid signature and proof', async () => {
    const error = (() => {
      try {
        return checkServedReceipt({
          inferenceId: ids[2]!,
          receipt: receipts[3],
          signature: undefined,
          domain,
          inclusion: { ...batch, index: 3, proof: tree.proof(3) },
        })
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(ReceiptIdMismatchError)
    expect(error).toMatchObject({ code: 'RECEIPT_ID_MISMATCH', details: { asked: ids[2]!.toLowerCase(), served: ids[3] } })
  })

  it('refuses a receipt not signed by its node: another key, a malformed or missing signature', async () => {
    for (const signature of [await sign(receipts[1], other), '0x1234', 42, undefined]) {
      expect(() => checkServedReceipt({ inferenceId: ids[1]!, receipt: receipts[1], signature, domain })).toThrow(ReceiptSignatureError)
    }
  })

  it('refuses a proof that does not lead to the root read from chain', async () => {
    const signature = await sign(receipts[1])
    const check = (inclusion: { root: Hex; count: number; index: unknown; proof: unknown }) => () =>
      checkServedReceipt({ inferenceId: ids[1]!, receipt: receipts[1], signature, domain, inclusion })
    expect(check({ ...batch, index: 2, proof: tree.proof(2) })).toThrow(ReceiptNotInBatchError)
    expect(check({ ...batch, index: 1, proof: tree.proof(1).slice(1) })).toThrow(ReceiptNotInBatchError)
    expect(check({ ...batch, index: '1', proof: tree.proof(1) })).toThrow(ReceiptNotInBatchError)
    expect(check({ ...batch, index: 1, proof: [{ deep: [] }] })).toThrow(ReceiptNotInBatchError)
    // The server's own root would prove anything it likes: only the chain's counts.
    const forged = buildBatchTree([ids[1]!, h(9)], NO_DECOYS_COMMIT)
    expect(check({ root: batch.root, count: 2, index: 0, proof: forged.proof(0) })).toThrow(ReceiptNotInBatchError)
    expect(check({ ...batch, index: 1, proof: tree.proof(1) })()).toEqual(receiptFromWire(receipts[1]))
  })

  it('refuses a malformed receipt with a typed error', () => {
    expect(() => checkServedReceipt({ inferenceId: ids[0]!, receipt: { ...receipts[0], fee: -1 }, signature: '0x', domain })).toThrow(
      WireFormatError,
    )
  })
})
