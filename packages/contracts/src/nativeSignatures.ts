import { createRequire } from 'node:module'
import { secp256k1 } from '@noble/curves/secp256k1'
import { addressOfPublicKey, bytesToHex, hexToBytes, installSignatureRecovery, recoverSignerJs } from '@verity/protocol/core'
import type { Address, Hex } from 'viem'

/**
 * secp256k1 on the request path at native speed (Node only; web pages use `signatures.ts`). The
 * `secp256k1` package binds libsecp256k1 and ships prebuilt binaries; where none loads, the same
 * functions fall back to @noble/curves. Nothing about what is signed changes: requests and receipts
 * stay EIP-712 digests signed with the parties' Ethereum keys, so Settlement checks them as before.
 */
type Binding = {
  ecdsaSign(message: Uint8Array, privateKey: Uint8Array): { signature: Uint8Array; recid: number }
  ecdsaRecover(signature: Uint8Array, recid: number, message: Uint8Array, compressed: boolean): Uint8Array
}

const binding: Binding | undefined = (() => {
  try {
    return createRequire(import.meta.url)('secp256k1/bindings') as Binding
  } catch {
    return undefined
  }
})()

/** Whether signatures are checked by libsecp256k1 (true) or by the JavaScript fallback. */
export const nativeSecp256k1: boolean = binding !== undefined

/**
 * The address that signed a 32-byte digest with a 65-byte Ethereum signature (r ‖ s ‖ v, v ∈ {0, 1,
 * 27, 28}), or undefined when the signature is malformed: the same answer as `signatures.ts`.
 *
 * @example
 * const client = recoverSigner(hashRequest(request, domain), signature)
 */
export function recoverSigner(digest: Hex, signature: Hex): Address | undefined {
  if (!binding) return recoverSignerJs(digest, signature)
  try {
    const bytes = hexToBytes(signature)
    const message = hexToBytes(digest)
    if (bytes.length !== 65 || message.length !== 32) return undefined
    const v = bytes[64]!
    const recovery = v >= 27 ? v - 27 : v
    if (recovery !== 0 && recovery !== 1) return undefined
    const publicKey = binding.ecdsaRecover(bytes.subarray(0, 64), recovery, message, false)
    return addressOfPublicKey(publicKey)
  } catch {
    return undefined
  }
}

// Every check in @verity/protocol built on `recoverSigner` (custody, served receipts) runs natively
// in a process that loads this module.
if (binding) installSignatureRecovery(recoverSigner)

/**
 * Signs a 32-byte digest with `privateKey` (RFC 6979, low s): r ‖ s ‖ v with v = 27 + parity, the
 * bytes viem's `sign` returns for the same key and digest.
 *
 * @example
 * const signature = signDigest(key, hashReceipt(receipt, domain))
 */
export function signDigest(privateKey: Hex, digest: Hex): Hex {
  const message = hexToBytes(digest)
  if (message.length !== 32) throw new Error(`a digest is 32 bytes, found ${message.length}`)
  if (binding) {
    const { signature, recid } = binding.ecdsaSign(message, hexToBytes(privateKey))
    const out = new Uint8Array(65)
    out.set(signature)
    out[64] = 27 + recid
    return bytesToHex(out)
  }
  const signature = secp256k1.sign(message, hexToBytes(privateKey), { lowS: true })
  const out = new Uint8Array(65)
  out.set(signature.toCompactRawBytes())
  out[64] = 27 + signature.recovery
  return bytesToHex(out)
}
