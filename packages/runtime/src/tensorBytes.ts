import type { IntArray, IntDType } from './tensor.js'
import { allocInt, bytesPerElement } from './tensor.js'

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** The canonical encoding of an integer tensor: its elements in little-endian two's complement. */
export function tensorBytes(a: IntArray): Uint8Array {
  if (littleEndian) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
  const out = new Uint8Array(a.byteLength)
  const view = new DataView(out.buffer)
  const w = a.BYTES_PER_ELEMENT
  for (let i = 0; i < a.length; i++) {
    if (w === 1) view.setInt8(i, a[i] as number)
    else if (w === 2) view.setInt16(i * 2, a[i] as number, true)
    else view.setInt32(i * 4, a[i] as number, true)
  }
  return out
}

/** Decodes `count` elements of `dtype` from canonical little-endian bytes (copying). */
export function tensorFromBytes(dtype: IntDType, bytes: Uint8Array, count: number): IntArray {
  const out = allocInt(dtype, count)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const w = bytesPerElement[dtype]
  for (let i = 0; i < count; i++) {
    out[i] = w === 1 ? view.getInt8(i) : w === 2 ? view.getInt16(i * 2, true) : view.getInt32(i * 4, true)
  }
  return out
}

/** Reads one element at flat index `index` from canonical bytes that start at element `first`. */
export function elementAt(dtype: IntDType, bytes: Uint8Array, offset: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const w = bytesPerElement[dtype]
  return w === 1 ? view.getInt8(offset) : w === 2 ? view.getInt16(offset, true) : view.getInt32(offset, true)
}
