import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { listenUrl } from './listenUrl.js'

/** Handles one JSON-RPC request object and returns the response object (with `result` or `error`). */
export type JsonRpcHandler = (request: { id: unknown; method: string; params?: unknown }) => Promise<Record<string, unknown>>

const MAX_BODY_BYTES = 16 * 1024 * 1024

export type RpcServer = { url: string; port: number; close(): Promise<void> }

/**
 * Serves a JSON-RPC handler over HTTP on `host` (default 127.0.0.1, loopback only; `0.0.0.0` serves
 * other machines), single and batch requests, CORS open so browser wallets and dashboards can
 * connect. Port 0 picks a free port.
 */
export async function serveJsonRpc(handler: JsonRpcHandler, options: { port?: number; host?: string } = {}): Promise<RpcServer> {
  const host = options.host ?? '127.0.0.1'
  const server: Server = createServer(async (req, res) => {
    res.setHeader('access-control-allow-origin', '*')
    res.setHeader('access-control-allow-headers', 'content-type')
    res.setHeader('access-control-allow-methods', 'POST, OPTIONS')
    if (req.method === 'OPTIONS') return void res.writeHead(204).end()
    if (req.method !== 'POST')
      return void res.writeHead(405, { 'content-type': 'application/json' }).end(errorBody(null, -32600, 'use POST'))
    let body: unknown
    try {
      body = JSON.parse(await readBody(req))
    } catch (error) {
      const message = error instanceof BodyTooLargeError ? error.message : 'parse error: the body is not JSON'
      return void res.writeHead(400, { 'content-type': 'application/json' }).end(errorBody(null, -32700, message))
    }
    const answer = Array.isArray(body) ? await Promise.all(body.map((one) => handleOne(handler, one))) : await handleOne(handler, body)
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  return {
    url: listenUrl(host, port),
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

async function handleOne(handler: JsonRpcHandler, request: unknown): Promise<Record<string, unknown>> {
  if (typeof request !== 'object' || request === null || typeof (request as { method?: unknown }).method !== 'string') {
    return { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'invalid request: expected an object with a string "method"' } }
  }
  const { id = null, method, params } = request as { id?: unknown; method: string; params?: unknown }
  try {
    return { jsonrpc: '2.0', id, ...(await handler({ id, method, params })) }
  } catch (error) {
    return { jsonrpc: '2.0', id, error: { code: -32603, message: error instanceof Error ? error.message : String(error) } }
  }
}

class BodyTooLargeError extends Error {}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLargeError(`request body over ${MAX_BODY_BYTES} bytes`))
        req.destroy()
      } else chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

function errorBody(id: unknown, code: number, message: string): string {
  return JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } })
}
