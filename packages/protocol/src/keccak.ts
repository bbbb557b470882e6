import { wasmBase64 } from './keccakWasm.generated.js'
import { KECCAK_LAYOUT, KECCAK_RATE } from './keccakWat.js'

// The WebAssembly global and atob, typed here because the project's lib (ES2023, no DOM) declares neither; both exist in Node and browsers.
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => { exports: unknown }
}
declare function atob(data: string): string

type KeccakExports = {
  memory: { buffer: ArrayBuffer; grow(pages: number): number }
  keccak(src: number, blocks: number, dst: number): void
}

// 1.2 KB, compiled synchronously (browsers allow it on their main thread; Chrome since version 114 at any size).
const wasm = new WebAssembly.Instance(new WebAssembly.Module(Uint8Array.from(atob(wasmBase64), (c) => c.charCodeAt(0))), {})
  .exports as unknown as KeccakExports
let memory = new Uint8Array(wasm.memory.buffer)

/**
 * Keccak-256 (Ethereum's: Keccak-f[1600], rate 136 bytes, padding 0x01 … 0x80), in WebAssembly
 * (keccakWat.ts): about six times js-sha3 on the 66- to 320-byte messages of an EIP-712 digest. The
 * same function as viem's `keccak256` (keccak.test.ts compares them on every length to 1,100 bytes
 * and beyond the module's first memory page).
 *
 * @example
 * keccak256(new Uint8Array(0)) // c5d24601…5d85a470
 */
export function keccak256(data: Uint8Array): Uint8Array {
  const blocks = Math.floor(data.length / KECCAK_RATE) + 1
  const end = KECCAK_LAYOUT.input + blocks * KECCAK_RATE
  if (end > memory.length) {
    wasm.memory.grow(Math.ceil((end - memory.length) / 65536))
    memory = new Uint8Array(wasm.memory.buffer)
  }
  memory.set(data, KECCAK_LAYOUT.input)
  memory.fill(0, KECCAK_LAYOUT.input + data.length, end)
  // Keccak's padding (not SHA-3's): 0x01 after the message, 0x80 in the block's last byte (0x81 when they meet).
  memory[KECCAK_LAYOUT.input + data.length] = 0x01
  memory[end - 1] = memory[end - 1]! | 0x80
  wasm.keccak(KECCAK_LAYOUT.input, blocks, KECCAK_LAYOUT.digest)
  return memory.slice(KECCAK_LAYOUT.digest, KECCAK_LAYOUT.digest + 32)
}

/** Keccak-256 of a string's UTF-8 bytes (EIP-712 type strings, names). */
export function keccak256Text(text: string): Uint8Array {
  return keccak256(new TextEncoder().encode(text))
}
