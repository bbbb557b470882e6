import { wasmBase64 } from './sha256x4Wasm.generated.js'
import { SHA256X4_LAYOUT } from './sha256x4Wat.js'
import { wasmInstance } from './wasmInstance.js'

type Sha256x4Exports = {
  memory: { buffer: ArrayBuffer; grow(pages: number): number }
  hashes(prefix: number, src: number, count: number, dst: number): void
}

const wasm = wasmInstance<Sha256x4Exports>(wasmBase64)
let memory = new Uint8Array(wasm.memory.buffer)

/**
 * The Merkle root of a tensor's canonical bytes (`tensorRoot`'s tree: 64-byte chunks, the last
 * zero-padded, leaves sha256(0x00 ‖ chunk), padding leaves 32 zero bytes up to a power of two, nodes
 * sha256(0x01 ‖ left ‖ right)), every level hashed four at a time in WebAssembly SIMD
 * (sha256x4Wat.ts). `bytes` is not empty.
 */
export function tensorRootX4(bytes: Uint8Array): Uint8Array {
  const leaves = Math.ceil(bytes.length / 64)
  let size = 1
  while (size < leaves) size *= 2
  // The input, zero-padded to whole groups of four chunks (a last group of fewer still reads four), then the
  // levels, written each over the one below it, with room for a last group's four digests.
  const groups = Math.ceil(leaves / 4)
  const input = SHA256X4_LAYOUT.free
  const level = input + 256 * groups
  const end = level + Math.max(32 * size, 256)
  if (end > memory.length) {
    wasm.memory.grow(Math.ceil((end - memory.length) / 65536))
    memory = new Uint8Array(wasm.memory.buffer)
  }
  memory.set(bytes, input)
  memory.fill(0, input + bytes.length, level)
  wasm.hashes(0, input, leaves, level)
  // The padding leaves: 32 zero bytes each (over whatever a last group of fewer than four wrote there).
  memory.fill(0, level + 32 * leaves, level + 32 * size)
  for (let n = size; n > 1; n /= 2) wasm.hashes(1, level, n / 2, level)
  return memory.slice(level, level + 32)
}
