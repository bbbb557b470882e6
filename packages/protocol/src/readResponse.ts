import type * as z from 'zod'
import { type BoundedFetchOptions, type BoundedResponse, boundedFetch, ResponseInvalidError } from './boundedFetch.js'
import { describeValue } from './describeValue.js'
import { describeIssue } from './wireSchema.js'

/**
 * The JSON body of an answer, checked against the API's schema for it (`@verity/protocol`'s
 * httpApi): an answer that is not JSON or does not match is a `ResponseInvalidError`
 * (RESPONSE_INVALID) naming the field, what it must be and what was found.
 *
 * @example
 * const proof = readResponse(await boundedFetch(`${node}/v1/inferences/${id}/proof`), ProofResponse)
 */
export function readResponse<T>(answer: BoundedResponse, schema: z.ZodType<T>): T {
  const body = answer.json()
  const result = schema.safeParse(body)
  if (result.success) return result.data
  throw new ResponseInvalidError(answer.url, answer.status, describeIssue(result.error, body, 'body', (v) => describeValue(v)).message)
}

/**
 * Fetches (bounded) a JSON document that must come with a 2xx status and match `schema`; an error
 * status or a body of another shape is a `ResponseInvalidError`.
 */
export async function fetchValid<T>(url: string, schema: z.ZodType<T>, options: BoundedFetchOptions = {}): Promise<T> {
  const answer = await boundedFetch(url, options)
  if (!answer.ok) {
    let code = ''
    try {
      const body = answer.json() as { error?: { code?: unknown } }
      if (typeof body?.error?.code === 'string') code = ` (${body.error.code.slice(0, 64)})`
    } catch {}
    throw new ResponseInvalidError(url, answer.status, `expected a 2xx answer${code}`)
  }
  return readResponse(answer, schema)
}
