import { canonicalJson } from '../canonicalJson.js'
import { ArtifactDecodeError } from '../errors.js'
import type { Model, ModelNode, TensorInfo } from '../model.js'
import type { IntArray, IntDType } from '../tensor.js'
import { bytesPerElement, sizeOf } from '../tensor.js'
import { tensorBytes, tensorFromBytes } from '../tensorBytes.js'
import { validateModel, validateTensors } from './validateModel.js'

/** File magic of a model artifact. */
export const ARTIFACT_MAGIC = 'VRTY'
/** Artifact format version; also names the integer semantics (docs/semantics.md) it runs under. */
export const ARTIFACT_VERSION = 1
export const SEMANTICS = 'verity-int16-v1'

/**
 * Encodes a model as canonical bytes:
 * "VRTY" ‖ u32le version ‖ u32le headerLength ‖ header (canonical JSON, UTF-8) ‖ constants,
 * where the constants are every const tensor's canonical bytes in tensor-id order.
 * `artifactHash = sha256(artifact)`; the model id commits to it and to the artifact's roots (docs/protocol.md).
 */
export function encodeArtifact(model: Model): Uint8Array {
  for (const n of model.nodes) {
    for (const [k, v] of Object.entries(n.attrs)) {
      const vals = Array.isArray(v) ? v : [v]
      if (!vals.every(Number.isSafeInteger)) {
        throw new ArtifactDecodeError(`node "${n.name}" attribute ${k} is not an integer`, { node: n.name, attr: k, value: v })
      }
    }
  }
  const header = canonicalJson({
    format: 'verity-model',
    semantics: SEMANTICS,
    name: model.name,
    source: model.source,
    inputs: model.inputs,
    outputs: model.outputs,
    tensors: model.tensors,
    nodes: model.nodes,
  })
  const headerBytes = new TextEncoder().encode(header)
  const blobs: Uint8Array[] = []
  model.tensors.forEach((t, id) => {
    if (t.kind === 'const') blobs.push(tensorBytes(model.constants.get(id) as IntArray))
  })
  const total = 12 + headerBytes.length + blobs.reduce((a, b) => a + b.length, 0)
  const out = new Uint8Array(total)
  out.set(new TextEncoder().encode(ARTIFACT_MAGIC), 0)
  const view = new DataView(out.buffer)
  view.setUint32(4, ARTIFACT_VERSION, true)
  view.setUint32(8, headerBytes.length, true)
  out.set(headerBytes, 12)
  let off = 12 + headerBytes.length
  for (const b of blobs) {
    out.set(b, off)
    off += b.length
  }
  return out
}

/** Decodes and validates an artifact. Throws `ArtifactDecodeError` (code `ARTIFACT_INVALID`). */
export function decodeArtifact(bytes: Uint8Array): Model {
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 4)) !== ARTIFACT_MAGIC) {
    throw new ArtifactDecodeError('missing VRTY magic', { expected: ARTIFACT_MAGIC, bytes: bytes.length })
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const version = view.getUint32(4, true)
  if (version !== ARTIFACT_VERSION) throw new ArtifactDecodeError('unsupported version', { expected: ARTIFACT_VERSION, found: version })
  const headerLength = view.getUint32(8, true)
  if (12 + headerLength > bytes.length) {
    throw new ArtifactDecodeError('truncated header', { expectedBytes: 12 + headerLength, foundBytes: bytes.length })
  }
  // biome-ignore lint/suspicious/noExplicitAny: validated field by field below
  let h: any
  try {
    h = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(12, 12 + headerLength)))
  } catch (cause) {
    throw new ArtifactDecodeError('header is not JSON', { reason: String(cause) })
  }
  if (canonicalJson(h) !== new TextDecoder().decode(bytes.subarray(12, 12 + headerLength))) {
    throw new ArtifactDecodeError('header is not in canonical form')
  }
  if (h?.format !== 'verity-model' || h.semantics !== SEMANTICS) {
    throw new ArtifactDecodeError('unknown format or semantics', { expected: SEMANTICS, found: h?.semantics })
  }
  const tensors: TensorInfo[] = h.tensors
  const nodes: ModelNode[] = h.nodes
  if (!Array.isArray(tensors) || !Array.isArray(nodes) || !Array.isArray(h.inputs) || !Array.isArray(h.outputs)) {
    throw new ArtifactDecodeError('header lacks tensors, nodes, inputs or outputs')
  }
  validateTensors(tensors)
  const constants = new Map<number, IntArray>()
  let off = 12 + headerLength
  tensors.forEach((t, id) => {
    if (t.kind !== 'const') return
    const count = sizeOf(t.shape)
    const len = count * bytesPerElement[t.dtype as IntDType]
    if (off + len > bytes.length) {
      throw new ArtifactDecodeError('truncated constants', { tensor: t.name, expectedBytes: off + len, foundBytes: bytes.length })
    }
    constants.set(id, tensorFromBytes(t.dtype, bytes.subarray(off, off + len), count))
    off += len
  })
  if (off !== bytes.length)
    throw new ArtifactDecodeError('trailing bytes after constants', { expectedBytes: off, foundBytes: bytes.length })
  const model: Model = { name: h.name, source: h.source, inputs: h.inputs, outputs: h.outputs, tensors, nodes, constants }
  validateModel(model)
  return model
}
