import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BaseError, importOnnx, loadMnist, mnistImage, run } from '@verity/runtime'
import jpeg from 'jpeg-js'
import { PNG } from 'pngjs'
import { describe, expect, it } from 'vitest'
import { demoData } from '../src/demoData.js'
import { imageInput } from '../src/imageInput.js'
import { runInputs } from '../src/samples.js'

const mnist = loadMnist(demoData.mnist)
const calibration = Array.from({ length: 20 }, (_, i) => ({ Input3: mnistImage(mnist, mnist.count - 1 - i) }))
const { model } = importOnnx(readFileSync(demoData.onnx), { calibration })
const dir = mkdtempSync(join(tmpdir(), 'verity-image-'))

/** MNIST test digit i as an RGBA image scaled up `k` times (each pixel a k×k block, gray: r = g = b). */
function digitRgba(i: number, k: number): { width: number; height: number; data: Buffer } {
  const size = 28 * k
  const data = Buffer.alloc(size * size * 4)
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const v = mnist.images[i * 784 + Math.floor(y / k) * 28 + Math.floor(x / k)]!
      data.set([v, v, v, 255], (y * size + x) * 4)
    }
  return { width: size, height: size, data }
}

const argmax = (values: ArrayLike<number>) => Array.from(values).reduce((best, v, k, all) => (v > all[best]! ? k : best), 0)

describe('verity run/infer --input <image>', () => {
  it('a PNG of a digit, 3× larger, in RGB: resized to the model’s [1, 1, 28, 28] it is the digit itself', () => {
    const file = join(dir, 'digit.png')
    const png = new PNG({ width: 84, height: 84 })
    png.data = digitRgba(0, 3).data
    writeFileSync(file, PNG.sync.write(png))
    const inputs = runInputs(file, model)
    const input = inputs.Input3!
    expect(input.shape).toEqual([1, 1, 28, 28])
    const expected = mnistImage(mnist, 0).data
    for (let k = 0; k < 784; k++) expect(input.data[k]).toBeCloseTo(expected[k]!, 9)
    expect(argmax(run(model, inputs).outputs[0]!.values)).toBe(mnist.labels[0])
  })

  it('a JPEG of a digit (lossy) gives the same answer as the digit', () => {
    const file = join(dir, 'digit.jpg')
    writeFileSync(file, jpeg.encode(digitRgba(1, 2), 95).data)
    expect(argmax(run(model, runInputs(file, model)).outputs[0]!.values)).toBe(mnist.labels[1])
  })

  it('transparent pixels count as black; an RGB input takes the channels as they are', () => {
    const png = new PNG({ width: 2, height: 1 })
    png.data = Buffer.from([200, 100, 50, 255, 255, 255, 255, 0])
    const bytes = PNG.sync.write(png)
    expect(Array.from(imageInput(bytes, [1, 1, 1, 2], 'x.png').data)).toEqual([0.299 * 200 + 0.587 * 100 + 0.114 * 50, 0])
    expect(Array.from(imageInput(bytes, [1, 3, 1, 1], 'x.png').data)).toEqual([100, 50, 25])
  })

  it('refuses a file that is neither an image nor JSON, and an input that is not an image, with USAGE errors', () => {
    const file = join(dir, 'notes.txt')
    writeFileSync(file, 'not an image')
    const codeOf = (f: () => unknown) => {
      try {
        f()
      } catch (e) {
        return [(e as BaseError).code, (e as BaseError).shortMessage]
      }
      return undefined
    }
    expect(codeOf(() => runInputs(file, model))).toEqual(['USAGE', `${file} is not valid JSON`])
    const png = new PNG({ width: 1, height: 1 })
    expect(codeOf(() => imageInput(PNG.sync.write(png), [1, 10, 10, 10], 'x.png'))?.[0]).toBe('USAGE')
    expect(codeOf(() => imageInput(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2]), [28, 28], 'broken.png'))).toEqual([
      'USAGE',
      'Cannot decode the image broken.png',
    ])
  })
})
