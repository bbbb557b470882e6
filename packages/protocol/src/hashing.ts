import type { Address, Hex } from 'viem'
import { EIP712_NAME, EIP712_VERSION, eip712Types, type InferenceRequest, type Receipt } from './eip712.js'
import { bytesToHex, isAddress, nibbleAt } from './hex.js'
import { keccak256, keccak256Text } from './keccak.js'

type Domain = { chainId: number; settlement: Address }
type StructName = keyof typeof eip712Types

/**
 * EIP-712 digests of the two Verity structs, encoded directly: the type hashes and the domain
 * separator are computed once, each field is written into one buffer and hashed. The same digest
 * as viem's `hashTypedData` (a conformance test compares them on random values), without its
 * per-call type walk: this runs twice per request on the node and twice per answer on the client.
 */
const keccak = (data: string | Uint8Array) => (typeof data === 'string' ? keccak256Text(data) : keccak256(data))
const typeHashes = Object.fromEntries(
  Object.entries(eip712Types).map(([name, fields]) => [name, keccak(`${name}(${fields.map((f) => `${f.type} ${f.name}`).join(',')})`)]),
) as Record<StructName, Uint8Array>
const DOMAIN_TYPE_HASH = keccak('EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)')

const separators = new Map<string, Uint8Array>()
function separatorOf(domain: Domain): Uint8Array {
  const key = `${domain.chainId}:${domain.settlement.toLowerCase()}`
  let separator = separators.get(key)
  if (!separator) {
    // hashStruct(EIP712Domain): its type hash, keccak(name), keccak(version), chainId, verifyingContract.
    const encoded = new Uint8Array(32 * 5)
    encoded.set(DOMAIN_TYPE_HASH, 0)
    encoded.set(keccak(EIP712_NAME), 32)
    encoded.set(keccak(EIP712_VERSION), 64)
    writeUint(encoded, 96, domain.chainId, 256, 'chainId')
    if (!isAddress(domain.settlement)) throw new Error(`the settlement must be an address, found ${String(domain.settlement).slice(0, 80)}`)
    writeHex(encoded, 128, domain.settlement, 20, 'settlement')
    separator = keccak(encoded)
    if (separators.size > 64) separators.clear()
    separators.set(key, separator)
  }
  return separator
}

/** Writes `hex` (0x + 2·bytes digits) right-aligned into the 32-byte word at `offset`. */
function writeHex(out: Uint8Array, offset: number, hex: string, bytes: number, what: string): void {
  if (typeof hex !== 'string' || hex.length !== 2 + 2 * bytes || hex[0] !== '0' || hex[1] !== 'x')
    throw new Error(`${what} must be ${bytes} bytes of 0x-hex, found ${String(hex).slice(0, 80)}`)
  const start = offset + 32 - bytes
  for (let i = 0; i < bytes; i++) {
    const hi = nibbleAt(hex, 2 + 2 * i)
    const lo = nibbleAt(hex, 3 + 2 * i)
    if (hi < 0 || lo < 0) throw new Error(`${what} is not hex: ${hex.slice(0, 80)}`)
    out[start + i] = (hi << 4) | lo
  }
}

function writeUint(out: Uint8Array, offset: number, value: bigint | number, bits: number, what: string): void {
  let v = typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : value
  if (typeof v !== 'bigint' || v < 0n || v >> BigInt(bits) !== 0n) throw new Error(`${what} must be a uint${bits}, found ${String(value)}`)
  for (let i = 31; v > 0n; i--) {
    out[offset + i] = Number(v & 0xffn)
    v >>= 8n
  }
}

function digestOf(name: StructName, message: Record<string, unknown>, domain: Domain): Hex {
  const fields = eip712Types[name]
  const struct = new Uint8Array(32 * (fields.length + 1))
  struct.set(typeHashes[name], 0)
  fields.forEach((field, i) => {
    const offset = 32 * (i + 1)
    const value = message[field.name]
    const what = `${name}.${field.name}`
    if (field.type === 'bytes32') writeHex(struct, offset, value as string, 32, what)
    else if (field.type === 'address') {
      if (!isAddress(value as string)) throw new Error(`${what} must be an address, found ${String(value).slice(0, 80)}`)
      writeHex(struct, offset, value as string, 20, what)
    } else writeUint(struct, offset, value as bigint, Number(field.type.slice(4)), what)
  })
  const envelope = new Uint8Array(66)
  envelope[0] = 0x19
  envelope[1] = 0x01
  envelope.set(separatorOf(domain), 2)
  // Keccak-256 in WebAssembly (keccak.ts; the same function as viem's): two of these per request and per receipt.
  envelope.set(keccak256(struct), 34)
  return bytesToHex(keccak256(envelope))
}

/** EIP-712 digest of a receipt: what the node signs and the leaf of its batch tree. */
export function hashReceipt(receipt: Receipt, domain: Domain): Hex {
  return digestOf('Receipt', receipt, domain)
}

/** EIP-712 digest of a request: what the client signs and the receipt's `requestHash`. */
export function hashRequest(request: InferenceRequest, domain: Domain): Hex {
  return digestOf('InferenceRequest', request, domain)
}
