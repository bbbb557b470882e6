import { connect, readAddressBook } from '@verity/chain'
import { createIndexer, dashboardApi, readOnlyAudit } from '@verity/dashboard'
import { serveApp } from '@verity/node'

export type DashboardCommandOptions = { rpc: string; addresses: string; db: string; port: number }

/** `verity dashboard --rpc <url>`: indexes any Verity deployment into SQLite and serves the dashboard API over it. */
export async function dashboardCommand(options: DashboardCommandOptions): Promise<void> {
  const book = readAddressBook(options.addresses)
  const chain = await connect(options.rpc, { expectedChainId: book.chainId, pollingInterval: 1000 })
  const indexer = createIndexer({ chain, book, dbPath: options.db, log: (line) => console.error(line) })
  indexer.start()
  const server = await serveApp(dashboardApi(indexer.store, { audit: readOnlyAudit(chain, book) }), options.port)
  console.log(`dashboard ${server.url}/ (indexing ${options.rpc} into ${options.db}); Ctrl-C to stop`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve())
    process.once('SIGTERM', () => resolve())
  })
  await server.close()
  await indexer.stop()
}
