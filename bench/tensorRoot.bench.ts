/**
 * A tensor's Merkle root (docs/semantics.md: leaves sha256(0x00 ‖ 64-byte chunk), nodes sha256(0x01 ‖ left ‖ right))
 * as the runtime computes it — every level four hashes at a time in WebAssembly SIMD (kernels/sha256x4.ts) — against
 * the same tree with one `node:crypto` call per hash (the runtime's way two versions before), in the same process,
 * the two taking turns.
 * Sizes: an mnist-8 input (784 int16), and the 16×14×14 activation of its first pooling layer (a trace leaf).
 *
 *   npx tsx --conditions=source bench/tensorRoot.bench.ts
 */
import { hash, randomBytes } from 'node:crypto'
import { tensorRoot } from '@verity/runtime'

/** The tree with one node:crypto call per hash, built in one buffer as the runtime built it. */
function tensorRootNodeCrypto(bytes: Uint8Array): Uint8Array {
  const leaves = Math.ceil(bytes.length / 64)
  let size = 1
  while (size < leaves) size *= 2
  const level = new Uint8Array(size * 32)
  const message = new Uint8Array(65)
  for (let i = 0; i < leaves; i++) {
    if (64 * i + 64 > bytes.length) message.fill(0)
    message.set(bytes.subarray(64 * i, 64 * i + 64), 1)
    level.set(hash('sha256', message, 'buffer'), 32 * i)
  }
  message[0] = 1
  for (; size > 1; size /= 2)
    for (let i = 0; i < size / 2; i++) {
      message.set(level.subarray(64 * i, 64 * i + 64), 1)
      level.set(hash('sha256', message, 'buffer'), 32 * i)
    }
  return level.slice(0, 32)
}

console.log('| tensor | bytes | hashes | tensorRoot µs | node:crypto per hash µs | ratio |')
console.log('| --- | ---: | ---: | ---: | ---: | ---: |')
for (const [name, length] of [
  ['mnist-8 input, 1×1×28×28', 784 * 2],
  ['first pooling output, 1×16×14×14', 16 * 14 * 14 * 2],
] as const) {
  const bytes = new Uint8Array(randomBytes(length))
  if (Buffer.compare(tensorRoot(bytes), tensorRootNodeCrypto(bytes)) !== 0) throw new Error('the two roots differ')
  const calls = Math.max(50, Math.round(200_000 / length))
  const time = (fn: () => unknown) => {
    const t = performance.now()
    for (let i = 0; i < calls; i++) fn()
    return ((performance.now() - t) * 1000) / calls
  }
  for (let i = 0; i < calls; i++) {
    tensorRoot(bytes)
    tensorRootNodeCrypto(bytes)
  }
  const ours: number[] = []
  const theirs: number[] = []
  for (let round = 0; round < 9; round++) {
    ours.push(time(() => tensorRoot(bytes)))
    theirs.push(time(() => tensorRootNodeCrypto(bytes)))
  }
  const median = (v: number[]) => v.sort((a, b) => a - b)[4]!
  const leaves = Math.ceil(length / 64)
  const hashes = leaves + 2 ** Math.ceil(Math.log2(leaves)) - 1
  console.log(
    `| ${name} | ${length} | ${hashes} | ${median(ours).toFixed(1)} | ${median(theirs).toFixed(1)} | ${(median(theirs) / median(ours)).toFixed(2)} |`,
  )
}
