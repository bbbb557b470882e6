import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { connect, readAddressBook } from '@verity/chain'
import { createIndexer, dashboardApi, readOnlyAudit, registeredArtifact } from '@verity/dashboard'
import { serveApp } from '@verity/node'

export type DashboardCommandOptions = {
  rpc: string
  addresses: string
  db: string
  host: string
  port: number
  /** The widest block range one eth_getLogs asks the endpoint for. */
  logRange?: number
}

/** `verity dashboard --rpc <url>`: indexes any Verity deployment into SQLite and serves the dashboard API over it. */
export async function dashboardCommand(options: DashboardCommandOptions): Promise<void> {
  const book = readAddressBook(options.addresses)
  mkdirSync(dirname(options.db), { recursive: true })
  const chain = await connect(options.rpc, {
    expectedChainId: book.chainId,
    pollingInterval: 1000,
    ...(options.logRange === undefined ? {} : { maxBlockRange: BigInt(options.logRange) }),
  })
  const indexer = createIndexer({ chain, book, dbPath: options.db, log: (line) => console.error(line) })
  indexer.start()
  const server = await serveApp(
    dashboardApi(indexer.store, { audit: readOnlyAudit(chain, book), artifact: registeredArtifact(chain, book) }),
    options.port,
    options.host,
  )
  // One JSON line when ready, as every role prints.
  console.log(JSON.stringify({ role: 'dashboard', url: server.url, rpc: options.rpc, db: options.db }))
  console.error(`dashboard ${server.url}/ (indexing ${options.rpc} into ${options.db}); Ctrl-C to stop`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve())
    process.once('SIGTERM', () => resolve())
  })
  await server.close()
  await indexer.stop()
}
