import { readFile } from 'node:fs/promises'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Hono } from 'hono'

/** Where `npm run build:web` puts the page (built at install by the root `prepare`). */
export const PAGE_DIR = fileURLToPath(new URL('../dist-web', import.meta.url))

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
}

/** Serves the built dashboard page (`/`, `/assets/…`) from `dir`; anything else falls through. */
export function servePage(app: Hono, dir = PAGE_DIR): Hono {
  app.get('/*', async (c, next) => {
    const path = c.req.path === '/' ? '/index.html' : c.req.path
    const file = normalize(join(dir, path))
    if (!file.startsWith(dir) || !(path === '/index.html' || path.startsWith('/assets/'))) return next()
    try {
      const body = await readFile(file)
      return c.body(body, 200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' })
    } catch {
      if (path === '/index.html') return c.text('the dashboard page is not built: run `npm run build`', 503)
      return next()
    }
  })
  return app
}
