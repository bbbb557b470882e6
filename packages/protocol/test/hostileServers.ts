import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A real HTTP server on loopback run by a hostile party (tests only). */
export type HostileServer = {
  url: string
  /** Connections accepted so far. */
  connections: number
  close(): Promise<void>
}

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  port = 0,
): Promise<{ server: Server; url: string; counter: { n: number } }> {
  const counter = { n: 0 }
  const server = createServer(handler)
  server.on('connection', () => counter.n++)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', resolve)
  })
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, counter }
}

function closer(server: Server): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
}

/**
 * A tarpit: accepts every connection and holds it open. `mode: 'silent'` never answers;
 * `mode: 'trickle'` sends a 200 with headers at once, then one byte of body per second, forever.
 */
export async function startTarpit(mode: 'silent' | 'trickle' = 'silent'): Promise<HostileServer> {
  const timers = new Set<NodeJS.Timeout>()
  const { server, url, counter } = await listen((_req, res) => {
    if (mode === 'silent') return
    res.writeHead(200, { 'content-type': 'application/json' })
    res.write('{')
    const t = setInterval(() => res.write(' '), 1000)
    timers.add(t)
    res.on('close', () => clearInterval(t))
  })
  const close = closer(server)
  return {
    url,
    get connections() {
      return counter.n
    },
    close: async () => {
      for (const t of timers) clearInterval(t)
      await close()
    },
  }
}

/** A flood: answers 200 to everything with an endless body (no content-length), as fast as it can. */
export async function startFlood(): Promise<HostileServer> {
  const chunk = Buffer.alloc(64 * 1024, 0x20)
  const { server, url, counter } = await listen((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    const pump = () => {
      while (!res.destroyed && res.write(chunk)) {}
      if (!res.destroyed) res.once('drain', pump)
    }
    pump()
  })
  return {
    url,
    get connections() {
      return counter.n
    },
    close: closer(server),
  }
}

/**
 * A reverse proxy in front of a node, attached to it once the node exists (its URL is the node's
 * public URL). `mode` says how it treats the verifiers' reads (`GET /v1/batches/…`, `/v1/data/…`):
 * 'pass' forwards them, 'tarpit' holds their connections open without a byte; everything else is
 * forwarded. `down()` closes its port (connections refused) and `up()` reopens it, like a node
 * going away for a few seconds.
 */
export type NodeFront = HostileServer & {
  attach(target: string): void
  mode: 'pass' | 'tarpit'
  /**
   * Decides per request where it goes: a URL to answer from instead of the node (another
   * node's batch, say), or undefined for the node itself; may wait first (hold a request).
   */
  route?: ((path: string) => Promise<string | undefined>) | undefined
  down(): Promise<void>
  up(): Promise<void>
  /** Paths requested, in order. */
  requests: string[]
}

export async function startNodeFront(mode: NodeFront['mode'] = 'pass'): Promise<NodeFront> {
  const requests: string[] = []
  let target: string | undefined
  let self: NodeFront | undefined
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? ''
    requests.push(path)
    if (self?.mode === 'tarpit' && req.method === 'GET' && /^\/v1\/(batches|data)\//.test(path)) return
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', async () => {
      try {
        if (!target) throw new Error('not attached')
        const instead = await self?.route?.(path)
        const answer = await fetch(instead ?? `${target}${path}`, {
          method: req.method ?? 'GET',
          headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
          ...(req.method === 'GET' || req.method === 'HEAD' ? {} : { body: Buffer.concat(chunks) }),
        })
        const body = Buffer.from(await answer.arrayBuffer())
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/octet-stream' }).end(body)
      } catch {
        res.writeHead(502).end()
      }
    })
  }
  let current = await listen(handler)
  const port = Number(new URL(current.url).port)
  let connections = 0
  let isUp = true
  self = {
    url: current.url,
    mode,
    requests,
    get connections() {
      return connections + current.counter.n
    },
    attach(url: string) {
      target = url
    },
    async down() {
      if (!isUp) return
      isUp = false
      connections += current.counter.n
      await closer(current.server)()
    },
    async up() {
      if (isUp) return
      current = await listen(handler, port)
      isUp = true
    },
    async close() {
      if (isUp) await closer(current.server)()
      isUp = false
    },
  }
  return self
}
