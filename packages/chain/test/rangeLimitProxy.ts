import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export type RangeLimitProxy = {
  url: string
  /** The widest `eth_getLogs` range asked for so far (blocks), refused or not. */
  widest: number
  /** `eth_getLogs` calls refused for their range. */
  refused: number
  close(): Promise<void>
}

type Request = { id?: unknown; method?: string; params?: unknown[] }

/**
 * A real HTTP JSON-RPC proxy in front of `target` that refuses `eth_getLogs` over more than
 * `maxRange` blocks, as public providers do (error -32005), resolving `latest` and `pending` to the
 * head. Everything else is forwarded unchanged.
 */
export async function startRangeLimitProxy(target: string, maxRange: number): Promise<RangeLimitProxy> {
  const forward = async (body: unknown) =>
    (await (
      await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    ).json()) as {
      result?: unknown
    }
  const blockOf = async (tag: unknown): Promise<number> => {
    if (tag === undefined || tag === 'latest' || tag === 'pending' || tag === 'safe' || tag === 'finalized')
      return Number((await forward({ jsonrpc: '2.0', id: 0, method: 'eth_blockNumber', params: [] })).result as string)
    return tag === 'earliest' ? 0 : Number(tag as string)
  }
  const proxy: RangeLimitProxy = {
    url: '',
    widest: 0,
    refused: 0,
    close: async () => {},
  }
  const one = async (request: Request) => {
    if (request.method === 'eth_getLogs') {
      const filter = (request.params?.[0] ?? {}) as { fromBlock?: string; toBlock?: string; blockHash?: string }
      if (filter.blockHash === undefined) {
        const span = (await blockOf(filter.toBlock)) - (await blockOf(filter.fromBlock ?? 'latest')) + 1
        proxy.widest = Math.max(proxy.widest, span)
        if (span > maxRange) {
          proxy.refused++
          return {
            jsonrpc: '2.0',
            id: request.id ?? null,
            error: { code: -32005, message: `query exceeds max block range ${maxRange} (asked for ${span} blocks)` },
          }
        }
      }
    }
    return forward(request)
  }
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Request | Request[]
    const answer = Array.isArray(body) ? await Promise.all(body.map(one)) : await one(body)
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  proxy.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return proxy
}
