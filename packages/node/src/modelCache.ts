import { type BoundedResponse, boundedFetch, MODEL_FETCH_LIMITS } from '@verity/contracts'
import { type LoadedModel, loadModel } from '@verity/runtime'
import type { Hex } from 'viem'
import { ApiError } from './errors.js'
import { sha256Hex } from './sha256.js'

/**
 * Models by id, fetched from a hub and checked against their id (sha256 of the artifact) before
 * use. Keeps the `capacity` most recently used models loaded.
 */
export class ModelCache {
  private readonly loaded = new Map<string, Promise<LoadedModel>>()

  constructor(
    private readonly hubUrl: string,
    private readonly capacity = 16,
  ) {}

  /** Adds a model already at hand (its id is recomputed from the bytes). */
  add(artifact: Uint8Array): LoadedModel {
    const model = loadModel(artifact)
    this.loaded.set(model.modelId, Promise.resolve(model))
    return model
  }

  async get(modelId: Hex): Promise<LoadedModel> {
    const id = modelId.toLowerCase()
    let entry = this.loaded.get(id)
    if (entry) {
      this.loaded.delete(id)
      this.loaded.set(id, entry)
      return entry
    }
    entry = this.fetch(id as Hex)
    this.loaded.set(id, entry)
    entry.catch(() => this.loaded.delete(id))
    while (this.loaded.size > this.capacity) this.loaded.delete(this.loaded.keys().next().value as string)
    return entry
  }

  private async fetch(modelId: Hex): Promise<LoadedModel> {
    let response: BoundedResponse
    try {
      response = await boundedFetch(`${this.hubUrl}/v1/models/${modelId}`, MODEL_FETCH_LIMITS)
    } catch (error) {
      throw new ApiError(503, 'HUB_UNAVAILABLE', `the model hub at ${this.hubUrl} cannot be reached: ${(error as Error).message}`)
    }
    if (response.status === 404) throw new ApiError(404, 'MODEL_NOT_FOUND', `model ${modelId} is not on the hub`, { modelId })
    if (!response.ok) throw new ApiError(503, 'HUB_UNAVAILABLE', `the model hub answered ${response.status} for ${modelId}`)
    const bytes = response.bytes
    const found = sha256Hex(bytes)
    if (found !== modelId)
      throw new ApiError(502, 'MODEL_HASH_MISMATCH', `the hub served bytes hashing to ${found} for model ${modelId}`, { modelId, found })
    return loadModel(bytes)
  }
}
