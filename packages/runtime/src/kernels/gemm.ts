import type { Window } from '../ops/window.js'
import { wasmBase64 } from './gemmWasm.generated.js'
import { wasmInstance } from './wasmInstance.js'

type GemmExports = {
  memory: { buffer: ArrayBuffer; grow(pages: number): number }
  gemm(w: number, x: number, bias: number, mul: number, shift: number, out: number, m: number, p: number, kp: number): void
  gemm16(a: number, x: number, out: number, m: number, p: number, kp: number, mul: number, shift: number): void
  im2col(
    x: number,
    cg: number,
    h: number,
    w: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    dh: number,
    dw: number,
    pt: number,
    pl: number,
    oh: number,
    ow: number,
    kp: number,
    cols: number,
  ): void
}

const wasm = wasmInstance<GemmExports>(wasmBase64)

/** Rounds up to a multiple of `k`. */
export function roundUp(n: number, k: number): number {
  return Math.ceil(n / k) * k
}

const padded = new WeakMap<Int8Array, Int16Array>()

/** Weight rows [rows][k] (int8) as int16 rows [rows][kp] with kp = roundUp(k, 8), zero padded; cached. */
export function paddedWeights(w: Int8Array, rows: number): Int16Array {
  let out = padded.get(w)
  if (!out) {
    const k = w.length / rows
    const kp = roundUp(k, 8)
    out = new Int16Array(rows * kp)
    for (let r = 0; r < rows; r++) for (let t = 0; t < k; t++) out[r * kp + t] = w[r * k + t] as number
    padded.set(w, out)
  }
  return out
}

function reserve(bytes: number): ArrayBuffer {
  const have = wasm.memory.buffer.byteLength
  if (bytes > have) wasm.memory.grow(Math.ceil((bytes - have) / 65536))
  return wasm.memory.buffer
}

/**
 * out[i, j] = sat16(rshift((bias[i] + Σ_t w[i, t] · x[j, t]) · mul[i], shift[i])) for i < m, j < p,
 * computed by the WebAssembly SIMD kernel (gemm.wat). `w` is [m][kp] int16 (int8 values); `fillX`
 * writes x as [roundUp(p, 4)][kp] into a zeroed view. Returns [m][roundUp(p, 4)] (a fresh copy).
 */
export function gemmRequant(
  w: Int16Array,
  m: number,
  kp: number,
  p: number,
  fillX: (x: Int16Array) => void,
  bias: Int32Array,
  mul: Int32Array,
  shift: Int32Array,
): Int16Array {
  return runGemm(w, m, kp, p, 0, (buffer, _src, xOff) => fillX(new Int16Array(buffer, xOff, roundUp(p, 4) * kp)), bias, mul, shift)
}

/**
 * One group of one batch item of an integer Conv: im2col of `x` (cg channels of h × w starting at
 * element `base`) and the requantized GEMM, both in WebAssembly. Returns [m][roundUp(oh·ow, 4)].
 */
export function convRequant(
  x: Int16Array,
  base: number,
  cg: number,
  h: number,
  wd: number,
  win: Window,
  w: Int16Array,
  m: number,
  kp: number,
  bias: Int32Array,
  mul: Int32Array,
  shift: Int32Array,
): Int16Array {
  const src = x.subarray(base, base + cg * h * wd)
  return runGemm(
    w,
    m,
    kp,
    win.oh * win.ow,
    src.byteLength,
    (buffer, srcOff, xOff) => {
      new Int16Array(buffer, srcOff, src.length).set(src)
      wasm.im2col(srcOff, cg, h, wd, win.kh, win.kw, win.sh, win.sw, win.dh, win.dw, win.pt, win.pl, win.oh, win.ow, kp, xOff)
    },
    bias,
    mul,
    shift,
  )
}

/**
 * Weights stay resident in the kernel's memory: each padded weight matrix is copied in once, into an
 * arena at the start of the memory, and reused by every later call (a decode step runs every Dense
 * once per token). A matrix is known by its buffer and its span in it, not by the view object: a
 * grouped Conv passes a fresh `subarray` of the same weights on every run, which must not copy them
 * in again (it did: the arena grew by the model's weights on every run, up to ARENA_LIMIT, and the
 * growing memory slowed every run after it — the load bench's decay). Past ARENA_LIMIT the arena
 * starts over.
 */
let resident = new WeakMap<ArrayBufferLike, Map<string, number>>()
let arenaEnd = 0
const ARENA_LIMIT = 512 * 2 ** 20

function residentOffset(w: Int16Array): number {
  const span = `${w.byteOffset}:${w.length}`
  let spans = resident.get(w.buffer)
  const known = spans?.get(span)
  if (known !== undefined) return known
  if (arenaEnd + w.byteLength > ARENA_LIMIT) {
    resident = new WeakMap()
    spans = undefined
    arenaEnd = 0
  }
  const off = arenaEnd
  arenaEnd = roundUp(off + w.byteLength, 16)
  new Int16Array(reserve(arenaEnd), off, w.length).set(w)
  if (!spans) {
    spans = new Map()
    resident.set(w.buffer, spans)
  }
  spans.set(span, off)
  return off
}

/** Bytes of the kernel's memory (the weight arena and the scratch area after it): for tests. */
export function kernelMemoryBytes(): number {
  return wasm.memory.buffer.byteLength
}

/** Runs the GEMM with resident weights and a scratch area [src][x][bias][mul][shift][out] after the arena. */
function runGemm(
  w: Int16Array,
  m: number,
  kp: number,
  p: number,
  srcBytes: number,
  fill: (buffer: ArrayBuffer, srcOff: number, xOff: number) => void,
  bias: Int32Array,
  mul: Int32Array,
  shift: Int32Array,
): Int16Array {
  const wOff = residentOffset(w)
  const p4 = roundUp(p, 4)
  const srcOff = arenaEnd
  const xOff = roundUp(srcOff + srcBytes, 16)
  const bOff = roundUp(xOff + p4 * kp * 2, 16)
  const mOff = bOff + roundUp(m * 4, 16)
  const sOff = mOff + roundUp(m * 4, 16)
  const oOff = sOff + roundUp(m * 4, 16)
  const buffer = reserve(oOff + m * p4 * 2)
  new Int16Array(buffer, xOff, p4 * kp).fill(0)
  fill(buffer, srcOff, xOff)
  new Int32Array(buffer, bOff, m).set(bias)
  new Int32Array(buffer, mOff, m).set(mul)
  new Int32Array(buffer, sOff, m).set(shift)
  wasm.gemm(wOff, xOff, bOff, mOff, sOff, oOff, m, p4, kp)
  return new Int16Array(buffer.slice(oOff, oOff + m * p4 * 2))
}

/**
 * One batch item of a MatMulAct: out[i, j] = sat16(rshift(Σ_t A[i, t] · B[t, j] · mul, shift)) for
 * i < m, j < n, with A read from `a` at `oa` ([m][k] row-major) and B from `b` at `ob` ([k][n]), in
 * WebAssembly (gemm16: any int16 values, exact). Returns [m][n].
 */
export function matmulRequant16(
  a: Int16Array,
  oa: number,
  b: Int16Array,
  ob: number,
  m: number,
  n: number,
  k: number,
  mul: number,
  shift: number,
): Int16Array {
  const kp = roundUp(k, 8)
  const p4 = roundUp(n, 4)
  const aOff = arenaEnd
  const xOff = roundUp(aOff + m * kp * 2, 16)
  const oOff = roundUp(xOff + p4 * kp * 2, 16)
  const buffer = reserve(oOff + m * p4 * 2)
  const av = new Int16Array(buffer, aOff, m * kp)
  if (kp === k) av.set(a.subarray(oa, oa + m * k))
  else {
    av.fill(0)
    for (let i = 0; i < m; i++) av.set(a.subarray(oa + i * k, oa + (i + 1) * k), i * kp)
  }
  // B transposed: row j of X is column j of B.
  const xv = new Int16Array(buffer, xOff, p4 * kp)
  if (kp !== k || p4 !== n) xv.fill(0)
  for (let t = 0; t < k; t++) {
    const row = ob + t * n
    for (let j = 0; j < n; j++) xv[j * kp + t] = b[row + j] as number
  }
  wasm.gemm16(aOff, xOff, oOff, m, p4, kp, mul, shift)
  const ov = new Int16Array(buffer, oOff, m * p4)
  if (p4 === n) return ov.slice()
  const out = new Int16Array(m * n)
  for (let i = 0; i < m; i++) out.set(ov.subarray(i * p4, i * p4 + n), i * n)
  return out
}
