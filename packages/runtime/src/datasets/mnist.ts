import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { BaseError } from '../errors.js'
import type { FloatTensor } from '../tensor.js'

/** The MNIST test set: `count` images of 28×28 pixels (0..255) and their labels. */
export type MnistSet = { count: number; images: Uint8Array; labels: Uint8Array }

export class DatasetError extends BaseError {
  override name = 'DatasetError'
  constructor(shortMessage: string, details: Record<string, unknown> = {}) {
    super('DATASET_INVALID', shortMessage, { details })
  }
}

function readIdx(path: string, magic: number): Uint8Array {
  let bytes: Uint8Array
  try {
    const raw = readFileSync(path)
    bytes = path.endsWith('.gz') ? gunzipSync(raw) : raw
  } catch (cause) {
    throw new DatasetError(`Cannot read ${path}`, { path, reason: String((cause as Error).message) })
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (bytes.length < 8 || view.getUint32(0) !== magic) {
    throw new DatasetError(`${path} is not an idx file`, {
      path,
      expectedMagic: magic,
      found: bytes.length >= 4 ? view.getUint32(0) : null,
    })
  }
  return bytes
}

/** Reads t10k-images-idx3-ubyte(.gz) and t10k-labels-idx1-ubyte(.gz) from a directory. */
export function loadMnist(dir: string, prefix = 't10k'): MnistSet {
  const pick = (name: string) => {
    for (const p of [join(dir, `${name}.gz`), join(dir, name)]) {
      try {
        readFileSync(p, { flag: 'r' }).length
        return p
      } catch {}
    }
    throw new DatasetError(`MNIST file ${name}(.gz) not found in ${dir}`, { dir, file: name })
  }
  const images = readIdx(pick(`${prefix}-images-idx3-ubyte`), 0x00000803)
  const labels = readIdx(pick(`${prefix}-labels-idx1-ubyte`), 0x00000801)
  const iv = new DataView(images.buffer, images.byteOffset, images.byteLength)
  const count = iv.getUint32(4)
  if (iv.getUint32(8) !== 28 || iv.getUint32(12) !== 28 || images.length !== 16 + count * 784) {
    throw new DatasetError('Unexpected MNIST image dimensions', { expected: '28x28', count })
  }
  return { count, images: images.subarray(16), labels: labels.subarray(8, 8 + count) }
}

/** Image `i` as a float tensor [1, 1, 28, 28] of raw pixel values 0..255. */
export function mnistImage(set: MnistSet, i: number): FloatTensor {
  return { dtype: 'float32', shape: [1, 1, 28, 28], data: Float64Array.from(set.images.subarray(i * 784, (i + 1) * 784)) }
}
