import { describeValue } from '@verity/protocol'
import { badRequest } from './errors.js'

/**
 * The cursor and page size of a feed (`?after=<seq>&limit=<n>`): `after` the last sequence number the
 * reader has seen (default 0), `limit` 1 to 1000 (default 500). Anything else is a typed 400.
 */
export function feedQuery(query: (name: string) => string | undefined, what: string): { after: number; limit: number } {
  const after = Number(query('after') ?? 0)
  const limit = Number(query('limit') ?? 500)
  if (!Number.isSafeInteger(after) || after < 0)
    throw badRequest('INVALID_CURSOR', `after is a ${what} sequence number ≥ 0, found ${describeValue(query('after'))}`)
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000)
    throw badRequest('INVALID_LIMIT', `limit is an integer from 1 to 1000, found ${describeValue(query('limit'))}`)
  return { after, limit }
}
