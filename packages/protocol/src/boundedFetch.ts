import { BaseError } from '@verity/runtime/core'

/**
 * The one way every role talks HTTP to another party (node ↔ hub, verifier → node, SDK → node,
 * dashboard → node): every request has a deadline covering the whole exchange (connect, headers
 * and body) and a bound on the body's size, so a party that holds a connection open or streams
 * without end costs the caller at most `timeoutMs` and `maxBytes`. Web APIs only (runs in a page).
 */
export type BoundedFetchOptions = {
  /** Deadline for the whole exchange, body included (default 10 s). */
  timeoutMs?: number
  /** Largest body accepted, in bytes (default 16 MiB). */
  maxBytes?: number
  method?: string
  headers?: Record<string, string>
  body?: string | Uint8Array
  /** Aborts the request early (the caller's own cancellation). */
  signal?: AbortSignal
}

/** A fully read answer: status, headers and the body's bytes (never more than `maxBytes`). */
export type BoundedResponse = {
  url: string
  status: number
  ok: boolean
  headers: Headers
  bytes: Uint8Array
  text(): string
  /** The body as JSON; a body that is not JSON throws `ResponseInvalidError`. */
  json(): unknown
}

export const DEFAULT_FETCH_TIMEOUT_MS = 10_000
export const DEFAULT_FETCH_MAX_BYTES = 16 * 1024 * 1024
/** Bounds for fetching a model artifact (larger and slower than any protocol message). */
/** Bounds for fetching a committed batch's receipts (up to a few thousand receipts). */
export const BATCH_FETCH_LIMITS = { timeoutMs: 15_000, maxBytes: 32 * 1024 * 1024 } as const
export const MODEL_FETCH_LIMITS = { timeoutMs: 120_000, maxBytes: 512 * 1024 * 1024 } as const

/** Base of the errors of an outbound request: the other party did not answer usably. */
export class FetchError extends BaseError {
  override name = 'FetchError'
  readonly url: string
  constructor(code: string, url: string, shortMessage: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(code, shortMessage, { details: { url, ...details }, cause })
    this.url = url
  }
}

/** The other party did not complete its answer within the deadline (a tarpit, a dead host). */
export class FetchTimeoutError extends FetchError {
  override name = 'FetchTimeoutError'
  constructor(url: string, timeoutMs: number) {
    super('FETCH_TIMEOUT', url, `${url} did not answer within ${timeoutMs} ms`, { timeoutMs })
  }
}

/** The answer's body is larger than the caller accepts. */
export class ResponseTooLargeError extends FetchError {
  override name = 'ResponseTooLargeError'
  constructor(url: string, maxBytes: number, found: string) {
    super('RESPONSE_TOO_LARGE', url, `${url} answered more than ${maxBytes} bytes (${found})`, { maxBytes, found })
  }
}

/** The connection failed (refused, reset, DNS): nothing was answered. */
export class FetchFailedError extends FetchError {
  override name = 'FetchFailedError'
  constructor(url: string, cause: unknown) {
    const reason = describeCause(cause)
    super('FETCH_FAILED', url, `${url} cannot be reached: ${reason}`, { reason }, cause)
  }
}

/** The answer is not what the protocol says it is (not JSON, an error status). */
export class ResponseInvalidError extends FetchError {
  override name = 'ResponseInvalidError'
  readonly status: number
  constructor(url: string, status: number, problem: string) {
    super('RESPONSE_INVALID', url, `${url} answered ${status}: ${problem}`, { status, problem })
    this.status = status
  }
}

function describeCause(cause: unknown): string {
  const inner = (cause as { cause?: { code?: string; message?: string } } | undefined)?.cause
  if (inner?.code) return inner.code
  if (inner?.message) return inner.message.slice(0, 200)
  return cause instanceof Error ? cause.message.slice(0, 200) : String(cause).slice(0, 200)
}

/**
 * Fetches `url` with a deadline and a size bound; resolves with the whole body read, whatever the
 * status (callers decide what a status means), or rejects with a `FetchError`.
 *
 * @example
 * const answer = await boundedFetch(`${node}/v1/data/${hash}`, { timeoutMs: 5000, maxBytes: 1 << 20 })
 * if (answer.ok) use(answer.json())
 */
export async function boundedFetch(url: string, options: BoundedFetchOptions = {}): Promise<BoundedResponse> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS
  const maxBytes = options.maxBytes ?? DEFAULT_FETCH_MAX_BYTES
  const controller = new AbortController()
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    controller.abort()
  }, timeoutMs)
  const onCallerAbort = () => controller.abort()
  options.signal?.addEventListener('abort', onCallerAbort, { once: true })
  try {
    let response: Response
    try {
      response = await fetch(url, {
        signal: controller.signal,
        ...(options.method ? { method: options.method } : {}),
        ...(options.headers ? { headers: options.headers } : {}),
        ...(options.body !== undefined ? { body: options.body } : {}),
      })
    } catch (error) {
      if (timedOut) throw new FetchTimeoutError(url, timeoutMs)
      throw new FetchFailedError(url, error)
    }
    const declared = Number(response.headers.get('content-length') ?? Number.NaN)
    if (declared > maxBytes) {
      controller.abort()
      throw new ResponseTooLargeError(url, maxBytes, `content-length ${declared}`)
    }
    const chunks: Uint8Array[] = []
    let size = 0
    if (response.body) {
      const reader = response.body.getReader()
      try {
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          size += value.byteLength
          if (size > maxBytes) {
            controller.abort()
            throw new ResponseTooLargeError(url, maxBytes, `${size} bytes read so far`)
          }
          chunks.push(value)
        }
      } catch (error) {
        if (error instanceof FetchError) throw error
        if (timedOut) throw new FetchTimeoutError(url, timeoutMs)
        throw new FetchFailedError(url, error)
      }
    }
    const bytes = new Uint8Array(size)
    let at = 0
    for (const c of chunks) {
      bytes.set(c, at)
      at += c.byteLength
    }
    let text: string | undefined
    const status = response.status
    return {
      url,
      status,
      ok: response.ok,
      headers: response.headers,
      bytes,
      text: () => {
        text ??= new TextDecoder().decode(bytes)
        return text
      },
      json() {
        try {
          text ??= new TextDecoder().decode(bytes)
          return JSON.parse(text) as unknown
        } catch {
          throw new ResponseInvalidError(url, status, `the body is not JSON (${bytes.byteLength} bytes)`)
        }
      },
    }
  } finally {
    clearTimeout(timer)
    options.signal?.removeEventListener('abort', onCallerAbort)
  }
}

/**
 * Fetches a JSON document that must be answered with a 2xx status; anything else throws a
 * `FetchError` (an error status is a `ResponseInvalidError` carrying the status and the body's
 * `error.code` when the other party sent one).
 */
export async function fetchJson(url: string, options: BoundedFetchOptions = {}): Promise<unknown> {
  const answer = await boundedFetch(url, options)
  if (!answer.ok) {
    let code = ''
    try {
      const body = answer.json() as { error?: { code?: unknown } }
      if (typeof body?.error?.code === 'string') code = ` (${body.error.code.slice(0, 64)})`
    } catch {}
    throw new ResponseInvalidError(url, answer.status, `expected a 2xx answer${code}`)
  }
  return answer.json()
}
