import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export type FlakyProxy = {
  url: string
  /** The next `times` requests calling `method` are forwarded, but the client gets a 502 instead of the answer. */
  loseAnswers(method: string, times: number): void
  /** The next `times` requests of any method are refused with a 503 without reaching the chain. */
  refuse(times: number): void
  /** Methods seen, in order. */
  seen: string[]
  close(): Promise<void>
}

/** A real HTTP JSON-RPC proxy in front of `target` that fails on command. */
export async function startFlakyProxy(target: string): Promise<FlakyProxy> {
  const lose = new Map<string, number>()
  let refusals = 0
  const seen: string[] = []
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks).toString('utf8')
    const parsed = JSON.parse(body) as { method?: string } | { method?: string }[]
    const methods = (Array.isArray(parsed) ? parsed : [parsed]).map((r) => r.method ?? '?')
    seen.push(...methods)
    if (refusals > 0) {
      refusals--
      return void res.writeHead(503).end('unavailable')
    }
    const answer = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    const text = await answer.text()
    const lost = methods.find((m) => (lose.get(m) ?? 0) > 0)
    if (lost) {
      lose.set(lost, lose.get(lost)! - 1)
      return void res.writeHead(502).end('bad gateway')
    }
    res.writeHead(answer.status, { 'content-type': 'application/json' }).end(text)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    loseAnswers: (method, times) => lose.set(method, times),
    refuse: (times) => {
      refusals = times
    },
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
