import { type ServerType, serve } from '@hono/node-server'
import { listenUrl } from '@verity/chain'
import type { Hono } from 'hono'

/** Serves a Hono app on `hostname` (default 127.0.0.1; 0.0.0.0 serves other machines; port 0 = any free port). */
export async function serveApp(
  app: Hono,
  port = 0,
  hostname = '127.0.0.1',
): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port, hostname }, () => resolve(s))
  })
  const address = server.address()
  const listening = typeof address === 'object' && address ? address.port : port
  return {
    url: listenUrl(hostname, listening),
    port: listening,
    close: () =>
      new Promise<void>((resolve) => {
        ;(server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.()
        server.close(() => resolve())
      }),
  }
}
