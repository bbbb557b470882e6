import { secp256k1 } from '@noble/curves/secp256k1'
import type { Address, Hex } from 'viem'
import { bytesToHex, checksumAddress, hexToBytes } from './hex.js'
import { keccak256 } from './keccak.js'

type Recover = (digest: Hex, signature: Hex) => Address | undefined

/** A native implementation installed by the Node entry (`@verity/contracts`), when one loads. */
let installed: Recover | undefined

/**
 * Installs a faster `recoverSigner` with the same answers (libsecp256k1 through `@verity/contracts`
 * in Node; web pages keep @noble/curves). Every check built on `recoverSigner` — custody, served
 * receipts — then uses it.
 */
export function installSignatureRecovery(recover: Recover): void {
  installed = recover
}

/**
 * The address that signed a 32-byte digest with a 65-byte Ethereum signature (r ‖ s ‖ v), or
 * undefined when the signature is malformed. The same result as viem's `recoverAddress`; the
 * installed native implementation when there is one, else `recoverSignerJs`.
 */
export function recoverSigner(digest: Hex, signature: Hex): Address | undefined {
  return installed ? installed(digest, signature) : recoverSignerJs(digest, signature)
}

/** The Ethereum address of an uncompressed secp256k1 public key (0x04 ‖ x ‖ y): its keccak's last 20 bytes, checksummed. */
export function addressOfPublicKey(publicKey: Uint8Array): Address {
  if (publicKey.length !== 65 || publicKey[0] !== 4)
    throw new Error(
      `expected an uncompressed public key (65 bytes, 0x04 first), found ${publicKey.length} bytes starting 0x${(publicKey[0] ?? 0).toString(16).padStart(2, '0')}`,
    )
  return checksumAddress(bytesToHex(keccak256(publicKey.subarray(1)).subarray(12)))
}

/** `recoverSigner` computed with @noble/curves directly (3.4 ms against 5.1 ms through viem, measured). */
export function recoverSignerJs(digest: Hex, signature: Hex): Address | undefined {
  try {
    const bytes = hexToBytes(signature)
    if (bytes.length !== 65) return undefined
    const v = bytes[64]!
    const recovery = v >= 27 ? v - 27 : v
    if (recovery !== 0 && recovery !== 1) return undefined
    const point = secp256k1.Signature.fromCompact(bytes.slice(0, 64)).addRecoveryBit(recovery).recoverPublicKey(hexToBytes(digest).slice())
    const publicKey = point.toRawBytes(false)
    return addressOfPublicKey(publicKey)
  } catch {
    return undefined
  }
}
