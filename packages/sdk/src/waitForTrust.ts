import { reached, type TrustLevel } from '@verity/protocol'
import type { VerityClient } from './createVerityClient.js'
import { TrustTimeoutError } from './errors.js'
import { type GetInferenceParameters, type GetInferenceReturnType, getInference } from './getInference.js'

export type WaitForTrustParameters = GetInferenceParameters & { level: TrustLevel; timeoutMs?: number; pollIntervalMs?: number }

/**
 * Resolves once the inference reaches `level` (or is DISPUTED, which ends any wait), checked
 * against the chain each poll.
 *
 * @example
 * const final = await waitForTrust(client, { inferenceId, node: url, level: 'FINAL' })
 */
export async function waitForTrust(client: VerityClient, parameters: WaitForTrustParameters): Promise<GetInferenceReturnType> {
  const deadline = Date.now() + (parameters.timeoutMs ?? 600_000)
  let last: GetInferenceReturnType | undefined
  for (const state of watchTrust(client, parameters)) {
    last = await state
    if (reached(last.level, parameters.level) || last.level === 'OVERTURNED') return last
    if (Date.now() > deadline) break
  }
  throw new TrustTimeoutError(parameters.inferenceId, parameters.level, last?.level ?? 'unknown', parameters.timeoutMs ?? 600_000)
}

/**
 * An endless stream of polled states (each a promise, one poll interval apart); with
 * `onTransition` use `watchTransitions` instead.
 */
export function* watchTrust(
  client: VerityClient,
  parameters: GetInferenceParameters & { pollIntervalMs?: number },
): Generator<Promise<GetInferenceReturnType>> {
  let first = true
  for (;;) {
    const wait = first ? Promise.resolve() : new Promise((r) => setTimeout(r, parameters.pollIntervalMs ?? 500))
    first = false
    yield wait.then(() => getInference(client, parameters))
  }
}

/**
 * The trust transitions of an inference as they happen (EXECUTED, COMMITTED, ATTESTED…), until
 * FINAL or DISPUTED or the timeout.
 *
 * @example
 * for await (const t of watchTransitions(client, { inferenceId, node })) console.log(t.level, new Date(t.at))
 */
export async function* watchTransitions(
  client: VerityClient,
  parameters: GetInferenceParameters & { pollIntervalMs?: number; timeoutMs?: number },
): AsyncGenerator<{ level: TrustLevel; at: number; attestations: number }> {
  const deadline = Date.now() + (parameters.timeoutMs ?? 600_000)
  let seen = 0
  for (const next of watchTrust(client, parameters)) {
    const state = await next
    for (const event of state.timeline.slice(seen)) yield { level: event.level, at: event.at, attestations: event.attestations ?? 0 }
    seen = state.timeline.length
    if (state.level === 'FINAL' || state.level === 'OVERTURNED' || Date.now() > deadline) return
  }
}
