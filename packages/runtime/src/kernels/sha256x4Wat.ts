/**
 * The WebAssembly text of the tensor Merkle tree's hashes, four at a time (`sha256x4.ts`), generated:
 * `npm run build:wasm` assembles it into sha256x4Wasm.generated.ts. Every hash of the tree is SHA-256
 * (FIPS 180-4) of `prefix ‖ 64 bytes`: two blocks, the second holding the last byte, the padding and
 * the length (520 bits). Each lane of a v128 carries one message, so four independent messages go
 * through the compression together; the rounds are a loop of eight written out, their names rotated.
 */

/**
 * Where the module keeps its data: the round constants K (64 × 4 bytes), the message schedule W (64 × v128)
 * and the state after the first block (8 × v128, in memory: as locals they would crowd the registers the rounds use).
 */
export const SHA256X4_LAYOUT = { k: 0, w: 256, h: 1280, free: 1408 } as const

// FIPS 180-4, 4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64 primes.
const K = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
  0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
  0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
  0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
  0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
  0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]
// FIPS 180-4, 5.3.3: the first 32 bits of the fractional parts of the square roots of the first 8 primes.
const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]

const get = (name: string) => `(local.get $${name})`
const rotr = (x: string, n: number) => `(v128.or (i32x4.shr_u ${x} (i32.const ${n})) (i32x4.shl ${x} (i32.const ${32 - n})))`
const xor3 = (p: string, q: string, r: string) => `(v128.xor (v128.xor ${p} ${q}) ${r})`
const add = (...xs: string[]) => xs.reduce((sum, x) => `(i32x4.add ${sum} ${x})`)
const splat = (value: number) => `(i32x4.splat (i32.const ${value | 0}))`
/** i8x16.shuffle of two vectors by 16 byte indices (0–15 the first's, 16–31 the second's). */
const shuffle = (indices: number[], p: string, q: string) => `(i8x16.shuffle ${indices.join(' ')} ${p} ${q})`
/** The indices taking i32 lanes `lanes` (0–3 the first's, 4–7 the second's). */
const lanes32 = (lanes: number[]) => lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3])
/** Each 32-bit word's bytes reversed (big-endian ↔ little-endian). */
const BSWAP = lanes32([0, 1, 2, 3]).map((i) => (i & ~3) + 3 - (i & 3))

/** The 4 × 4 transpose of i32 lanes: out[j] lane L = in[L] lane j. */
function transpose(into: string[], from: string[]): string[] {
  const [x0, x1, x2, x3] = from.map(get) as [string, string, string, string]
  const lo = lanes32([0, 4, 1, 5])
  const hi = lanes32([2, 6, 3, 7])
  return [
    `(local.set $p0 ${shuffle(lo, x0, x1)})`,
    `(local.set $p1 ${shuffle(hi, x0, x1)})`,
    `(local.set $p2 ${shuffle(lo, x2, x3)})`,
    `(local.set $p3 ${shuffle(hi, x2, x3)})`,
    `(local.set $${into[0]} ${shuffle(lanes32([0, 1, 4, 5]), get('p0'), get('p2'))})`,
    `(local.set $${into[1]} ${shuffle(lanes32([2, 3, 6, 7]), get('p0'), get('p2'))})`,
    `(local.set $${into[2]} ${shuffle(lanes32([0, 1, 4, 5]), get('p1'), get('p3'))})`,
    `(local.set $${into[3]} ${shuffle(lanes32([2, 3, 6, 7]), get('p1'), get('p3'))})`,
  ]
}

/** W[16..63] from W[0..15] in the schedule's memory (FIPS 180-4, 6.2.2 step 1). */
function schedule(): string[] {
  const at = (t: number) => `(v128.load offset=${SHA256X4_LAYOUT.w + 16 * t} (local.get $q))`
  const s0 = (x: string) => xor3(rotr(x, 7), rotr(x, 18), `(i32x4.shr_u ${x} (i32.const 3))`)
  const s1 = (x: string) => xor3(rotr(x, 17), rotr(x, 19), `(i32x4.shr_u ${x} (i32.const 10))`)
  // $q steps through 16 × (t − 16): W[t] is at offset 16 × 16 from it, W[t − 2] at 16 × 14, and so on.
  return [
    '(local.set $q (i32.const 0))',
    '(loop $schedule',
    `  (local.set $x0 ${at(14)}) (local.set $x1 ${at(1)})`,
    `  (v128.store offset=${SHA256X4_LAYOUT.w + 256} (local.get $q) ${add(s1(get('x0')), at(9), s0(get('x1')), at(0))})`,
    '  (local.set $q (i32.add (local.get $q) (i32.const 16)))',
    '  (br_if $schedule (i32.lt_u (local.get $q) (i32.const 768))))',
  ]
}

/** The 64 rounds over the state in $v0..$v7 (a..h), eight written out per turn of a loop (FIPS 180-4, 6.2.2 step 3). */
function rounds(): string[] {
  const out = ['(local.set $q (i32.const 0))', '(loop $rounds']
  for (let i = 0; i < 8; i++) {
    const v = (k: number) => get(`v${(k - i + 8) % 8}`)
    const [a, b, c, e, f, g, h] = [v(0), v(1), v(2), v(4), v(5), v(6), v(7)]
    const S1 = xor3(rotr(e, 6), rotr(e, 11), rotr(e, 25))
    const ch = `(v128.bitselect ${f} ${g} ${e})`
    const k = `(v128.load32_splat offset=${SHA256X4_LAYOUT.k + 4 * i} (local.get $q))`
    const w = `(v128.load offset=${SHA256X4_LAYOUT.w + 16 * i} (i32.shl (local.get $q) (i32.const 2)))`
    const S0 = xor3(rotr(a, 2), rotr(a, 13), rotr(a, 22))
    const maj = `(v128.bitselect ${c} ${b} (v128.xor ${a} ${b}))`
    out.push(
      `  (local.set $t1 ${add(h, S1, ch, k, w)})`,
      `  (local.set $v${(3 - i + 8) % 8} (i32x4.add ${v(3)} (local.get $t1)))`,
      `  (local.set $v${(7 - i + 8) % 8} ${add(get('t1'), S0, maj)})`,
    )
  }
  out.push('  (local.set $q (i32.add (local.get $q) (i32.const 32)))', '  (br_if $rounds (i32.lt_u (local.get $q) (i32.const 256))))')
  return out
}

/**
 * The module: memory and `hashes(prefix, src, count, dst)`, which writes SHA-256(prefix ‖ the 64 bytes at
 * src + 64i) to dst + 32i for i < count, four at a time — a last group of fewer reads and writes its
 * whole 256 and 128 bytes. Each group reads its messages before it writes, so dst may be src (a Merkle
 * level written over the one below it).
 */
export function sha256x4Wat(): string {
  const kBytes = K.map((k) => Array.from({ length: 4 }, (_, i) => `\\${((k >>> (8 * i)) & 0xff).toString(16).padStart(2, '0')}`).join(''))
  const v = Array.from({ length: 8 }, (_, i) => `v${i}`)
  const body: string[] = []
  // Block 1: prefix ‖ bytes 0..62 of each message. Word t of it is bytes 4t − 1 .. 4t + 2 (byte −1 the prefix), big-endian:
  // each 16 bytes of a message, with the byte before them, shuffled into four words, then the four messages transposed.
  const word = Array.from({ length: 16 }, (_, o) => {
    const j = o >> 2
    const r = o & 3
    const s = 4 * j + 2 - r
    return s >= 0 ? 16 + s : 15
  })
  for (let chunk = 0; chunk < 4; chunk++) {
    for (let m = 0; m < 4; m++) {
      const before =
        chunk === 0 ? '(i8x16.splat (local.get $prefix))' : `(v128.load offset=${64 * m + 16 * chunk - 16} align=1 (local.get $src))`
      body.push(`(local.set $x${m} ${shuffle(word, before, `(v128.load offset=${64 * m + 16 * chunk} align=1 (local.get $src))`)})`)
    }
    body.push(...transpose(['x0', 'x1', 'x2', 'x3'], ['x0', 'x1', 'x2', 'x3']))
    for (let j = 0; j < 4; j++)
      body.push(`(v128.store offset=${SHA256X4_LAYOUT.w + 16 * (4 * chunk + j)} (i32.const 0) (local.get $x${j}))`)
  }
  // Block 2's first word, read now (dst may be src): the message's last byte, then the padding's 0x80.
  body.push(
    `(local.set $last (i32x4.replace_lane 3 (i32x4.replace_lane 2 (i32x4.replace_lane 1 (i32x4.splat (i32.load8_u offset=63 (local.get $src))) (i32.load8_u offset=127 (local.get $src))) (i32.load8_u offset=191 (local.get $src))) (i32.load8_u offset=255 (local.get $src))))`,
    `(local.set $last (v128.or (i32x4.shl (local.get $last) (i32.const 24)) ${splat(0x800000)}))`,
  )
  body.push(...schedule())
  body.push(...IV.map((iv, i) => `(local.set $v${i} ${splat(iv)})`))
  body.push(...rounds())
  body.push(...IV.map((iv, i) => `(local.set $v${i} (i32x4.add (local.get $v${i}) ${splat(iv)}))`))
  body.push(...v.map((x, i) => `(v128.store offset=${SHA256X4_LAYOUT.h + 16 * i} (i32.const 0) (local.get $${x}))`))
  // Block 2: the last byte, 0x80, zeros, and the message's length in bits (65 × 8 = 520).
  body.push(`(v128.store offset=${SHA256X4_LAYOUT.w} (i32.const 0) (local.get $last))`)
  for (let t = 1; t < 15; t++) body.push(`(v128.store offset=${SHA256X4_LAYOUT.w + 16 * t} (i32.const 0) (v128.const i32x4 0 0 0 0))`)
  body.push(`(v128.store offset=${SHA256X4_LAYOUT.w + 16 * 15} (i32.const 0) ${splat(520)})`)
  body.push(...schedule())
  body.push(...rounds())
  body.push(
    ...v.map((x, i) => `(local.set $${x} (i32x4.add (local.get $${x}) (v128.load offset=${SHA256X4_LAYOUT.h + 16 * i} (i32.const 0))))`),
  )
  // The digests: lane L of a..h is message L's eight words; transposed back and byte-swapped to big-endian.
  body.push(...transpose(['x0', 'x1', 'x2', 'x3'], ['v0', 'v1', 'v2', 'v3']))
  for (let m = 0; m < 4; m++)
    body.push(`(v128.store offset=${32 * m} align=1 (local.get $dst) ${shuffle(BSWAP, get(`x${m}`), get(`x${m}`))})`)
  body.push(...transpose(['x0', 'x1', 'x2', 'x3'], ['v4', 'v5', 'v6', 'v7']))
  for (let m = 0; m < 4; m++)
    body.push(`(v128.store offset=${32 * m + 16} align=1 (local.get $dst) ${shuffle(BSWAP, get(`x${m}`), get(`x${m}`))})`)
  const locals = ['v0', 'v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7', 'x0', 'x1', 'x2', 'x3', 'p0', 'p1', 'p2', 'p3', 't1', 'last']
    .map((name) => `(local $${name} v128)`)
    .join(' ')
  return `;; generated by sha256x4Wat.ts — SHA-256 of prefix ‖ 64 bytes, four messages at a time
(module
  (memory (export "memory") 1)
  (data (i32.const ${SHA256X4_LAYOUT.k}) "${kBytes.join('')}")
  (func (export "hashes") (param $prefix i32) (param $src i32) (param $count i32) (param $dst i32)
    ${locals} (local $q i32)
    (block $done
      (loop $group
        (br_if $done (i32.le_s (local.get $count) (i32.const 0)))
        ${body.join('\n        ')}
        (local.set $src (i32.add (local.get $src) (i32.const 256)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 128)))
        (local.set $count (i32.sub (local.get $count) (i32.const 4)))
        (br $group)))))
`
}
