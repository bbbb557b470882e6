import {
  decoyOutputHashOf,
  hashReceipt,
  hashRequest,
  type InferenceRequest,
  inputsFromWire,
  inputsJson,
  type Receipt,
  receiptToWire,
  requestToWire,
  signDigest,
} from '@verity/contracts'
import { type LoadedModel, tensorsHash } from '@verity/runtime'
import { concat, type Hex, hexToBigInt, keccak256, toHex } from 'viem'
import { type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts'
import type { DecoyLeaf, StoredInference } from './receiptStore.js'

/** How many client keys a node's decoys are spread over (each a key only the node holds). */
export const DECOY_CLIENTS = 8

export type DecoyFactoryOptions = {
  /** The node's own key: its receipts' signer, and the seed of its decoy clients' keys. */
  nodeKey: Hex
  domain: { chainId: number; settlement: Hex }
  modelFor(modelId: Hex): Promise<LoadedModel>
  /** The stored input body of a real receipt (the decoy's input is a one-value variation of it). */
  inputOf(inputHash: Hex): string | undefined
  /**
   * The decoy client of the batch `batchKey` (`DecoyClientPool.take`): the key that signs this decoy
   * and the channel total its request continues. Without one (no pool, or none ready) the decoy is
   * signed by one of `DECOY_CLIENTS` keys derived from the node's (docs/protocol.md, "Known limits").
   */
  clientFor?(fee: bigint, batchKey: Hex): { account: PrivateKeyAccount; channelTotal: bigint } | undefined
  /** Told when a decoy had to fall back to a derived key. */
  onFallback?(): void
}

/**
 * Pure but for signing: the input a decoy carries — the template's input with one value moved by one
 * quantum, chosen by the secret — so it looks like any other request to the same model.
 */
export function perturbInput(tensors: readonly Int16Array[], secret: Hex): Int16Array[] {
  const out = tensors.map((t) => Int16Array.from(t))
  const draw = hexToBigInt(secret)
  const target = out[Number(draw % BigInt(out.length))]!
  if (target.length === 0) return out
  const at = Number((draw >> 64n) % BigInt(target.length))
  const v = target[at]!
  target[at] = v === 32767 ? v - 1 : v === -32768 ? v + 1 : (draw >> 128n) & 1n ? v + 1 : v - 1
  return out
}

/**
 * Makes the decoys (forced errors) a node hides in its batches (docs/economics.md, "Decoys"): a
 * request signed by one of the node's own client keys for a variation of a real input, and a receipt
 * the node signs whose output hash is keccak(secret) — wrong for any input, so a verifier that
 * re-executes it finds the mismatch, and one that attests it without running it is slashed.
 */
export function createDecoyFactory(
  o: DecoyFactoryOptions,
): (secret: Hex, template: StoredInference, nowMs: number, batchKey: Hex) => Promise<DecoyLeaf> {
  const node = privateKeyToAccount(o.nodeKey)
  // Their keys are kept: the node signs with them natively (`signDigest`, libsecp256k1), not through the accounts.
  const clientKeys = Array.from({ length: DECOY_CLIENTS }, (_, i) =>
    keccak256(concat([o.nodeKey, toHex('verity/decoy-client'), toHex(i, { size: 32 })])),
  )
  const clients = clientKeys.map((key) => privateKeyToAccount(key))
  return async (secret, template, nowMs, batchKey) => {
    const draw = hexToBigInt(secret)
    const model = await o.modelFor(template.modelId)
    const body = o.inputOf(template.inputHash)
    if (body === undefined) throw new Error(`decoy template ${template.id} has no stored input`)
    const fee = BigInt(template.fee)
    const fresh = o.clientFor?.(fee, batchKey)
    if (!fresh) o.onFallback?.()
    const derived = Number(draw % BigInt(DECOY_CLIENTS))
    const client = fresh?.account ?? clients[derived]!
    const inputs = perturbInput(inputsFromWire(model, JSON.parse(body)), secret)
    const inputHash = tensorsHash(inputs)
    const templateRequest = JSON.parse(template.requestJson) as { deadline: string }
    // Made now, like a request answered now: issued this second, with the template's time to live.
    const issuedAt = BigInt(Math.floor(nowMs / 1000))
    const ttl = BigInt(templateRequest.deadline) - BigInt(template.issuedAt)
    const request: InferenceRequest = {
      modelId: template.modelId,
      inputHash,
      node: node.address,
      mode: template.mode,
      maxFee: fee,
      nonce: (draw >> 96n) & ((1n << 64n) - 1n),
      deadline: issuedAt + (ttl > 0n ? ttl : 60n),
      channelTotal: fresh?.channelTotal ?? fee * (1n + ((draw >> 160n) % 1000n)),
    }
    const requestHash = hashRequest(request, o.domain)
    const clientSignature = fresh ? await client.sign({ hash: requestHash }) : signDigest(clientKeys[derived]!, requestHash)
    const receipt: Receipt = {
      requestHash,
      modelId: template.modelId,
      inputHash,
      outputHash: decoyOutputHashOf(secret),
      node: node.address,
      client: client.address.toLowerCase() as Hex,
      fee,
      issuedAt,
      mode: template.mode,
    }
    const id = hashReceipt(receipt, o.domain)
    return {
      secret,
      inputBody: inputsJson(model, inputs),
      inference: {
        id,
        requestHash,
        client: receipt.client,
        nonce: request.nonce.toString(),
        modelId: template.modelId,
        inputHash,
        outputHash: receipt.outputHash,
        fee: template.fee,
        channelTotal: request.channelTotal.toString(),
        mode: template.mode,
        issuedAt: Number(issuedAt),
        executedAtMs: nowMs,
        receiptJson: JSON.stringify(receiptToWire(receipt)),
        signature: signDigest(o.nodeKey, id),
        requestJson: JSON.stringify(requestToWire(request)),
        clientSignature,
        // Stored for the row's shape only: outputs go to their client in the answer to `/v1/infer`,
        // and no route serves a stored receipt's outputs (`GET /v1/inferences/:id` shows none).
        outputsJson: template.outputsJson,
        // A run time like the template's (within ±10 %), not a copy of it: equal times would pair them.
        computeMs: template.computeMs === null ? null : template.computeMs * (0.9 + Number((draw >> 200n) % 1000n) / 5000),
      },
    }
  }
}
