import type { Address, Hex } from 'viem'
import { keccak256 } from './keccak.js'

/**
 * Hex and address helpers with no dependency beyond Keccak-256 (keccak.ts), so the light entry
 * (`@verity/protocol/core`) loads in a worker thread in milliseconds where viem takes ~0.5 s of CPU.
 * Each gives viem's answer for the same input (`hex.test.ts` compares them).
 */

const NIBBLE = new Int8Array(128).fill(-1)
for (let i = 0; i < 10; i++) NIBBLE[48 + i] = i
for (let i = 0; i < 6; i++) {
  NIBBLE[65 + i] = 10 + i
  NIBBLE[97 + i] = 10 + i
}
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** The value of the hex digit at `index` of `hex`, or -1 when it is none. */
export function nibbleAt(hex: string, index: number): number {
  return NIBBLE[hex.charCodeAt(index)] ?? -1
}

/** `0x`-hex (an even number of digits, either case) as bytes; throws on anything else. */
export function hexToBytes(hex: string): Uint8Array {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || hex[0] !== '0' || hex[1] !== 'x')
    throw new Error(`expected 0x-hex of whole bytes, found ${String(hex).slice(0, 80)}`)
  const out = new Uint8Array((hex.length - 2) / 2)
  for (let i = 0; i < out.length; i++) {
    const hi = nibbleAt(hex, 2 + 2 * i)
    const lo = nibbleAt(hex, 3 + 2 * i)
    if (hi < 0 || lo < 0) throw new Error(`expected 0x-hex of whole bytes, found ${hex.slice(0, 80)}`)
    out[i] = (hi << 4) | lo
  }
  return out
}

/** Bytes as lowercase `0x`-hex. */
export function bytesToHex(bytes: Uint8Array): Hex {
  let out = '0x'
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]!]
  return out as Hex
}

/** Checksummed forms by lowercase address: a node meets the same few addresses on every request (its own, its clients'). */
const checksums = new Map<string, Address>()

/** An address (0x + 40 hex digits, either case) in its EIP-55 checksummed form, as viem's `getAddress`. */
export function checksumAddress(address: string): Address {
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) throw new Error(`an address is 0x followed by 40 hex digits, found ${address.slice(0, 80)}`)
  const lower = address.slice(2).toLowerCase()
  const known = checksums.get(lower)
  if (known !== undefined) return known
  // EIP-55: a letter is upper case where the keccak of the lowercase digits' text has a nibble of 8 or more.
  const hash = keccak256(Uint8Array.from(lower, (c) => c.charCodeAt(0)))
  let out = '0x'
  for (let i = 0; i < 40; i++) out += (i % 2 === 0 ? hash[i >> 1]! >> 4 : hash[i >> 1]! & 15) >= 8 ? lower[i]!.toUpperCase() : lower[i]
  // Bounded: a stream of new addresses (clients, signatures recovering to random keys) empties it now and then.
  if (checksums.size >= 8192) checksums.clear()
  checksums.set(lower, out as Address)
  return out as Address
}

/** Whether `value` is an address as viem's `isAddress` decides: 40 hex digits, lowercase or validly checksummed. */
export function isAddress(value: unknown): value is Address {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(value)) return false
  return value === value.toLowerCase() || checksumAddress(value) === value
}
