import type { FloatTensor } from '@verity/runtime'
import jpeg from 'jpeg-js'
import { PNG } from 'pngjs'
import { UsageError } from './samples.js'

/** Largest image accepted (pixels): decoding is done in memory. */
const MAX_PIXELS = 25_000_000

/** Whether the bytes are a PNG or a JPEG file (by their signature). */
export function imageFormat(bytes: Uint8Array): 'png' | 'jpeg' | undefined {
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png'
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg'
  return undefined
}

/** Where height, width and channels sit in an input shape: NCHW, NHWC, CHW or HW (batch 1). */
function layoutOf(shape: readonly number[]): { height: number; width: number; channels: number; channelsLast: boolean } | undefined {
  const [a, b, c, d] = shape
  if (shape.length === 4 && a === 1 && (b === 1 || b === 3)) return { channels: b, height: c!, width: d!, channelsLast: false }
  if (shape.length === 4 && a === 1 && (d === 1 || d === 3)) return { height: b!, width: c!, channels: d, channelsLast: true }
  if (shape.length === 3 && (a === 1 || a === 3)) return { channels: a, height: b!, width: c!, channelsLast: false }
  if (shape.length === 2) return { channels: 1, height: a!, width: b!, channelsLast: false }
  return undefined
}

/**
 * A PNG or JPEG image as a model input of `shape`: decoded, composited over black where it is
 * transparent, converted to the input's channels (1: luminance 0.299 R + 0.587 G + 0.114 B; 3: RGB),
 * resized to the input's height and width by area averaging, and laid out as the shape says (NCHW,
 * NHWC, CHW or HW). Values are the pixels' own, 0..255 per channel: the scale mnist-8 takes (MNIST
 * digits are white on black). A model that expects another range takes a tensor JSON file instead.
 */
export function imageInput(bytes: Uint8Array, shape: readonly number[], file: string): FloatTensor {
  const format = imageFormat(bytes)
  const layout = layoutOf(shape)
  if (!layout)
    throw new UsageError(
      'The model input is not an image: expected a shape [1, C, H, W], [1, H, W, C], [C, H, W] or [H, W] with C 1 or 3',
      {
        file,
        found: shape,
      },
    )
  let image: { width: number; height: number; data: Uint8Array }
  try {
    if (format === 'png') image = PNG.sync.read(Buffer.from(bytes))
    else if (format === 'jpeg') image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_PIXELS / 1e6 })
    else throw new Error('not a PNG or JPEG file')
  } catch (cause) {
    throw new UsageError(`Cannot decode the image ${file}`, { file, expected: 'a PNG or JPEG file', reason: (cause as Error).message })
  }
  if (image.width * image.height > MAX_PIXELS || image.width === 0 || image.height === 0)
    throw new UsageError('Image size out of range', { file, expected: `1..${MAX_PIXELS} pixels`, found: `${image.width}×${image.height}` })

  // Source planes (over black where transparent), then area-averaged into the target grid.
  const { width: sw, height: sh, data } = image
  const planes = Array.from({ length: layout.channels }, () => new Float64Array(sw * sh))
  for (let p = 0; p < sw * sh; p++) {
    const alpha = data[4 * p + 3]! / 255
    const [r, g, b] = [data[4 * p]! * alpha, data[4 * p + 1]! * alpha, data[4 * p + 2]! * alpha]
    if (layout.channels === 1) planes[0]![p] = 0.299 * r + 0.587 * g + 0.114 * b
    else [planes[0]![p], planes[1]![p], planes[2]![p]] = [r, g, b]
  }
  const { width: tw, height: th, channels } = layout
  const out = new Float64Array(channels * th * tw)
  const sx = sw / tw
  const sy = sh / th
  for (let ty = 0; ty < th; ty++) {
    const y0 = ty * sy
    const y1 = y0 + sy
    for (let tx = 0; tx < tw; tx++) {
      const x0 = tx * sx
      const x1 = x0 + sx
      for (let c = 0; c < channels; c++) {
        let sum = 0
        for (let y = Math.floor(y0); y < Math.ceil(y1); y++) {
          const wy = Math.min(y + 1, y1) - Math.max(y, y0)
          for (let x = Math.floor(x0); x < Math.ceil(x1); x++) {
            const wx = Math.min(x + 1, x1) - Math.max(x, x0)
            sum += wy * wx * planes[c]![y * sw + x]!
          }
        }
        const value = sum / (sx * sy)
        out[layout.channelsLast ? (ty * tw + tx) * channels + c : c * th * tw + ty * tw + tx] = value
      }
    }
  }
  return { dtype: 'float32', shape: [...shape], data: out }
}
