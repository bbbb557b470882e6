import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type HostileServer, startFlood, startTarpit } from '../test/hostileServers.js'
import {
  boundedFetch,
  FetchFailedError,
  FetchTimeoutError,
  fetchJson,
  ResponseInvalidError,
  ResponseTooLargeError,
} from './boundedFetch.js'

const servers: { close(): Promise<void> }[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})
function track<T extends HostileServer>(s: T): T {
  servers.push(s)
  return s
}

describe('boundedFetch against hostile servers', () => {
  it('gives up on a server that accepts and never answers', async () => {
    const tarpit = track(await startTarpit('silent'))
    const error = await boundedFetch(`${tarpit.url}/batch`, { timeoutMs: 300 }).catch((e) => e)
    expect(error).toBeInstanceOf(FetchTimeoutError)
    expect(error.code).toBe('FETCH_TIMEOUT')
    // The server's side of the accept can be handled after the client's timer fired (a loaded machine).
    await vi.waitFor(() => expect(tarpit.connections).toBe(1), { timeout: 2_000 })
  })

  it('gives up on a server that sends headers, then trickles its body', async () => {
    const tarpit = track(await startTarpit('trickle'))
    const error = await boundedFetch(`${tarpit.url}/batch`, { timeoutMs: 1500 }).catch((e) => e)
    expect(error).toBeInstanceOf(FetchTimeoutError)
    expect(error.details).toMatchObject({ timeoutMs: 1500 })
  })

  it('stops reading an endless body at the size bound', async () => {
    const flood = track(await startFlood())
    const error = await boundedFetch(flood.url, { maxBytes: 1_000_000, timeoutMs: 10_000 }).catch((e) => e)
    expect(error).toBeInstanceOf(ResponseTooLargeError)
    expect(error.code).toBe('RESPONSE_TOO_LARGE')
  })

  it('refuses a declared content-length above the bound without reading it', async () => {
    const server = createServer((_req, res) => res.writeHead(200, { 'content-length': '5000' }).end('x'.repeat(5000)))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    servers.push({ close: () => new Promise((r) => server.close(() => r())) })
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const error = await boundedFetch(url, { maxBytes: 100 }).catch((e) => e)
    expect(error).toBeInstanceOf(ResponseTooLargeError)
    expect(error.details.found).toBe('content-length 5000')
    // Within the bound, the body is read whole.
    expect((await boundedFetch(url, { maxBytes: 5000 })).text()).toHaveLength(5000)
  })

  it('reports a refused connection, an error status and a body that is not JSON as typed errors', async () => {
    const server = createServer((req, res) =>
      req.url === '/missing'
        ? res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"NOT_FOUND"}}')
        : res.writeHead(200).end('<html>'),
    )
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const missing = (await fetchJson(`${url}/missing`).catch((e: unknown) => e)) as ResponseInvalidError
    expect(missing).toBeInstanceOf(ResponseInvalidError)
    expect(missing.status).toBe(404)
    expect(missing.shortMessage).toContain('(NOT_FOUND)')
    const html = (await fetchJson(`${url}/page`).catch((e: unknown) => e)) as ResponseInvalidError
    expect(html).toBeInstanceOf(ResponseInvalidError)
    expect(html.details.problem).toBe('the body is not JSON (6 bytes)')
    server.closeAllConnections()
    await new Promise<void>((r) => server.close(() => r()))
    const closed = createServer()
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((r) => closed.close(() => r()))
    const refused = await boundedFetch(`http://127.0.0.1:${port}/`).catch((e) => e)
    expect(refused).toBeInstanceOf(FetchFailedError)
    expect(refused.details.reason).toBe('ECONNREFUSED')
  })
})
