import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { boundedFetch } from '@verity/contracts'

/**
 * Hostile inference nodes for the devnet (tests and demos only), built as wrappers around an honest
 * node: an HTTP proxy in front of its app, registered as its public URL, that misbehaves in one way
 * and forwards everything else. The honest node's code has no branch for them.
 *
 * - `tarpit`: holds every connection to the batch data and inputs verifiers need
 *   (`GET /v1/batches/…`, `GET /v1/data/…`) open without answering.
 * - `receipt-forger`: answers `GET /v1/inferences/:id` (and its `/proof`) with another of its
 *   receipts, committed, with that receipt's valid signature and inclusion proof.
 * - `data-withholder`: answers 404 on `GET /v1/data/:inputHash` for the inputs `withholds` picks
 *   (`startDataWithholder`: its cheats that the public selection rule says will be sampled); with
 *   `withholdsBatches`, also on every `GET /v1/batches/:root` and `GET /v1/inferences/:id/proof`
 *   (the whole-batch withholder: nothing a challenge naming a receipt could use is served).
 */
export type NodeAdversary = 'tarpit' | 'receipt-forger' | 'data-withholder'
/** The fronts that take no rate (`data-withholder` takes one: `--adversary data-withholder:<rate>`). */
export const NODE_ADVERSARIES: readonly NodeAdversary[] = ['tarpit', 'receipt-forger']

export type AdversaryFront = {
  strategy: NodeAdversary
  url: string
  attach(nodeUrl: string): void
  /** What the adversary did: connections held, answers forged, inputs withheld. */
  counts(): { held: number; forged: number; withheld: number }
  close(): Promise<void>
}

export async function startAdversaryFront(
  strategy: NodeAdversary,
  hooks: { withholds?(inputHash: string): Promise<boolean>; withholdsBatches?: boolean } = {},
): Promise<AdversaryFront> {
  let target = ''
  let held = 0
  let forged = 0
  let withheld = 0
  const holding = new Set<ServerResponse>()

  async function forward(req: IncomingMessage, res: ServerResponse, path = req.url ?? '/'): Promise<void> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const answer = await boundedFetch(`${target}${path}`, {
      method: req.method ?? 'GET',
      headers: { 'content-type': String(req.headers['content-type'] ?? 'application/json') },
      ...(req.method === 'GET' || req.method === 'HEAD' ? {} : { body: Buffer.concat(chunks) }),
      timeoutMs: 120_000,
    })
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/octet-stream' }).end(answer.bytes)
  }

  /** Another committed receipt of this node than `id`, if there is one. */
  async function otherCommitted(id: string): Promise<string | undefined> {
    const page = (await boundedFetch(`${target}/v1/receipts?after=0&limit=1000`)).json() as { receipts: { inferenceId: string }[] }
    for (const r of [...page.receipts].reverse()) {
      if (r.inferenceId.toLowerCase() === id.toLowerCase()) continue
      if ((await boundedFetch(`${target}/v1/inferences/${r.inferenceId}/proof`)).status === 200) return r.inferenceId
    }
    return undefined
  }

  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/'
    const run = async () => {
      if (strategy === 'tarpit' && req.method === 'GET' && /^\/v1\/(batches|data)\//.test(path)) {
        held++
        holding.add(res)
        res.on('close', () => holding.delete(res))
        return
      }
      if (
        strategy === 'data-withholder' &&
        hooks.withholdsBatches &&
        req.method === 'GET' &&
        /^\/v1\/(batches\/|inferences\/0x[0-9a-fA-F]{64}\/proof$)/.test(path)
      ) {
        withheld++
        const error = { code: 'BATCH_NOT_FOUND', message: 'withheld', details: {} }
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error }))
        return
      }
      const data = /^\/v1\/data\/(0x[0-9a-fA-F]{64})$/.exec(path)
      if (strategy === 'data-withholder' && req.method === 'GET' && data && (await hooks.withholds?.(data[1]!.toLowerCase()))) {
        withheld++
        const error = { code: 'DATA_NOT_FOUND', message: `no input with hash ${data[1]} on this node`, details: {} }
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error }))
        return
      }
      const asked = /^\/v1\/inferences\/(0x[0-9a-fA-F]{64})(\/proof)?$/.exec(path)
      if (strategy === 'receipt-forger' && req.method === 'GET' && asked) {
        const other = await otherCommitted(asked[1]!)
        if (other) {
          forged++
          return forward(req, res, `/v1/inferences/${other}${asked[2] ?? ''}`)
        }
      }
      return forward(req, res)
    }
    run().catch(() => {
      if (!res.headersSent) res.writeHead(502).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    strategy,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    attach(nodeUrl) {
      target = nodeUrl
    },
    counts: () => ({ held, forged, withheld }),
    close: () =>
      new Promise((resolve) => {
        for (const res of holding) res.destroy()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
