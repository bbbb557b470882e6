import type { AddressBook, Chain } from '@verity/chain'
import { identifyModel, type ModelRoots, modelRegistryAbi } from '@verity/contracts'
import { type LoadedModel, loadModel, sha256, toHex } from '@verity/runtime/core'
import { ContractFunctionRevertedError, type Hex, BaseError as ViemError } from 'viem'
import {
  ModelFetchFailedError,
  ModelFetchTimeoutError,
  ModelHashMismatchError,
  ModelNotRegisteredError,
  ModelRootsMismatchError,
  ModelTooLargeError,
  type SdkError,
} from './errors.js'

export type CreateModelLoaderParameters = {
  chain: Chain
  book: AddressBook
  /** Hubs tried (`<hub>/v1/models/<id>`) before the URI registered on-chain, e.g. a role's own hub. */
  hubs?: string[]
  /**
   * Also fetch from the URI registered on-chain (default true). Whoever registered the id chose it:
   * a server that must not fetch URLs an outsider picks (an inference node, a verifier) sets false
   * and loads from its own hubs only.
   */
  registeredUri?: boolean
  /** Time allowed for one source to deliver the whole artifact. Default 60 s. */
  timeoutMs?: number
  /** Largest artifact accepted. Default 256 MiB (a hub's limit). */
  maxBytes?: number
  /** Artifact bytes kept loaded, least recently used evicted first. Default 1 GiB. */
  cacheBytes?: number
}

export type ModelLoader = {
  /**
   * The model registered under `modelId`: its on-chain record read, its artifact fetched (each source
   * with a timeout and a size bound), checked against the registered artifact hash, its roots derived
   * and compared with the registered ones. Concurrent loads of one id share one fetch.
   */
  load(modelId: Hex): Promise<LoadedModel>
  /** Artifact bytes held by the cache. */
  cachedBytes(): number
}

export type ModelLoaderErrorType =
  | ModelNotRegisteredError
  | ModelFetchFailedError
  | ModelFetchTimeoutError
  | ModelTooLargeError
  | ModelHashMismatchError
  | ModelRootsMismatchError

const ROOTS = ['artifactHash', 'weightsRoot', 'graphRoot', 'specHash'] as const

/**
 * The one way to load a registered model (node, verifier, SDK, dashboard): by content id, from the
 * given hubs then the registered artifact URI, never trusting what a source serves.
 *
 * @example
 * const models = createModelLoader({ chain, book, hubs: ['http://hub:7000'] })
 * const model = await models.load(modelId) // throws MODEL_ROOTS_MISMATCH, MODEL_HASH_MISMATCH, …
 */
export function createModelLoader(parameters: CreateModelLoaderParameters): ModelLoader {
  const timeoutMs = parameters.timeoutMs ?? 60_000
  const maxBytes = parameters.maxBytes ?? 256 * 1024 * 1024
  const cacheBytes = parameters.cacheBytes ?? 1024 * 1024 * 1024
  /** Insertion order is recency order: a hit moves its entry to the end. */
  const cache = new Map<string, { model: Promise<LoadedModel>; bytes: number }>()
  let held = 0

  async function record(modelId: Hex): Promise<ModelRoots & { artifactURI: string }> {
    try {
      return await parameters.chain.publicClient.readContract({
        address: parameters.book.contracts.modelRegistry,
        abi: modelRegistryAbi,
        functionName: 'getModel',
        args: [modelId],
      })
    } catch (error) {
      const revert = error instanceof ViemError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : null
      if (revert instanceof ContractFunctionRevertedError && revert.data?.errorName === 'UnknownModel')
        throw new ModelNotRegisteredError(modelId)
      throw error
    }
  }

  /** The bytes at `url`, at most `maxBytes` of them, within `timeoutMs`. */
  async function fetchBounded(modelId: Hex, url: string): Promise<Uint8Array> {
    if (!/^https?:\/\//.test(url)) throw new ModelFetchFailedError(modelId, url, 'is not an http(s) URL')
    const signal = AbortSignal.timeout(timeoutMs)
    const timedOut = () => signal.aborted
    try {
      const response = await fetch(url, { signal })
      if (!response.ok) {
        await response.body?.cancel()
        throw new ModelFetchFailedError(modelId, url, `answered ${response.status}`, { status: response.status })
      }
      const declared = Number(response.headers.get('content-length') ?? Number.NaN)
      if (declared > maxBytes) {
        await response.body?.cancel()
        throw new ModelTooLargeError(modelId, url, maxBytes, declared)
      }
      const chunks: Uint8Array[] = []
      let length = 0
      for await (const chunk of response.body ?? []) {
        length += chunk.length
        if (length > maxBytes) {
          await response.body?.cancel().catch(() => {})
          throw new ModelTooLargeError(modelId, url, maxBytes, length)
        }
        chunks.push(chunk)
      }
      const bytes = new Uint8Array(length)
      let at = 0
      for (const chunk of chunks) {
        bytes.set(chunk, at)
        at += chunk.length
      }
      return bytes
    } catch (error) {
      if (error instanceof ModelTooLargeError || error instanceof ModelFetchFailedError) throw error
      if (timedOut()) throw new ModelFetchTimeoutError(modelId, url, timeoutMs)
      throw new ModelFetchFailedError(modelId, url, `cannot be fetched: ${(error as Error).message}`)
    }
  }

  async function fetchModel(modelId: Hex): Promise<LoadedModel> {
    const registered = await record(modelId)
    const expected = Object.fromEntries(ROOTS.map((k) => [k, registered[k].toLowerCase()])) as ModelRoots
    const hubs = (parameters.hubs ?? []).map((hub) => `${hub.replace(/\/$/, '')}/v1/models/${modelId}`)
    const sources = [...new Set([...hubs, ...(parameters.registeredUri === false ? [] : [registered.artifactURI])])]
    if (sources.length === 0) throw new ModelFetchFailedError(modelId, 'its registered URI', 'is not used and no hub is configured')
    const failures: SdkError[] = []
    for (const url of sources) {
      let bytes: Uint8Array
      try {
        bytes = await fetchBounded(modelId, url)
      } catch (error) {
        failures.push(error as SdkError)
        continue
      }
      const artifactHash = toHex(sha256(bytes))
      if (artifactHash !== expected.artifactHash) {
        failures.push(new ModelHashMismatchError(modelId, url, expected.artifactHash, artifactHash))
        continue
      }
      // The bytes are the registered artifact: from here on a failure is the record's, not the source's.
      const model = loadModel(bytes)
      const found = identifyModel(model)
      if (ROOTS.some((k) => found[k] !== expected[k])) {
        throw new ModelRootsMismatchError(modelId, expected, Object.fromEntries(ROOTS.map((k) => [k, found[k]])))
      }
      // The registry computes the id from the roots; a reader that is lied to about the record is caught here.
      if (found.modelId !== modelId.toLowerCase()) throw new ModelHashMismatchError(modelId, url, modelId, found.modelId)
      return model
    }
    const first = failures[0]!
    if (failures.length === 1) throw first
    const attempts = failures.map((f) => ({ url: String((f.details as { url?: string }).url), code: f.code, error: f.shortMessage }))
    throw new ModelFetchFailedError(modelId, sources.join(', '), `served no valid artifact (${failures.map((f) => f.code).join(', ')})`, {
      attempts,
    })
  }

  function evict() {
    for (const [id, entry] of cache) {
      if (held <= cacheBytes) return
      if (entry.bytes === 0) continue // still loading
      cache.delete(id)
      held -= entry.bytes
    }
  }

  return {
    load(modelId) {
      const id = modelId.toLowerCase()
      const hit = cache.get(id)
      if (hit) {
        cache.delete(id)
        cache.set(id, hit)
        return hit.model
      }
      const entry = { model: fetchModel(id as Hex), bytes: 0 }
      cache.set(id, entry)
      entry.model.then(
        (model) => {
          if (cache.get(id) !== entry) return
          entry.bytes = model.artifact.length
          held += entry.bytes
          evict()
        },
        () => {
          if (cache.get(id) === entry) cache.delete(id)
        },
      )
      return entry.model
    },
    cachedBytes: () => held,
  }
}
