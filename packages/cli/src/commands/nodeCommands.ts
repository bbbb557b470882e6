import { mkdirSync, readFileSync } from 'node:fs'
import { basename, dirname } from 'node:path'
import { createCheatingNode, type Fault } from '@verity/adversary'
import { connect, readAddressBook, readKeyFile } from '@verity/chain'
import { createHub, createInferenceNode, createVerifier, publishModel, serveApp } from '@verity/node'
import { importOnnx, loadModel } from '@verity/runtime'
import { calibrationSamples, UsageError } from '../samples.js'

export type RoleOptions = {
  rpc: string
  key: string
  addresses: string
  /** Address the role's HTTP API listens on (127.0.0.1; 0.0.0.0 serves other machines). */
  host: string
  port: number
  db: string
  hub?: string
  publicUrl?: string
  sampleRate?: number
  fault?: Fault
  dir: string
  batchSize: number
  batchAgeMs: number
  /** Worker threads that may run the models (0: on the event loop; default one per core, at most 8). */
  runWorkers?: number
  /** The shortest run (ms) whose model's requests spread over every run worker. */
  spreadRunMs?: number
  /** The page cache of the inference node's connection that writes receipts, MB. */
  sqliteCacheMb?: number
  /** The widest block range one eth_getLogs asks the endpoint for. */
  logRange?: number
  /** Key file of the account that funds the inference node's decoy clients (docs/protocol.md, "Decoys"). */
  decoyFunder?: string
}

const waitForSignal = () =>
  new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve())
    process.once('SIGTERM', () => resolve())
  })

/** `verity node inference|verifier|hub`: one role as its own process against any EVM endpoint. */
export async function nodeCommand(role: string, options: RoleOptions): Promise<void> {
  const log = (line: string) => console.log(`${new Date().toISOString()} ${role}: ${line}`)
  if (role === 'hub') {
    const hub = createHub({ dir: options.dir })
    const server = await serveApp(hub.app, options.port, options.host)
    console.log(JSON.stringify({ role: 'hub', url: server.url, dir: options.dir }))
    await waitForSignal()
    await server.close()
    return
  }
  if (role !== 'inference' && role !== 'verifier') throw new UsageError('the role must be inference, verifier or hub', { found: role })
  if (!options.hub) throw new UsageError('--hub <url> is required: models are fetched from the hub by id')
  const book = readAddressBook(options.addresses)
  const chain = await connect(options.rpc, {
    expectedChainId: book.chainId,
    pollingInterval: 250,
    ...(options.logRange === undefined ? {} : { maxBlockRange: BigInt(options.logRange) }),
  })
  const key = readKeyFile(options.key)
  mkdirSync(dirname(options.db), { recursive: true })
  if (role === 'inference') {
    const nodeOptions = {
      chain,
      book,
      key,
      dbPath: options.db,
      hubUrl: options.hub,
      batch: { maxSize: options.batchSize, maxAgeMs: options.batchAgeMs },
      ...(options.runWorkers === undefined ? {} : { runWorkers: options.runWorkers }),
      ...(options.spreadRunMs === undefined ? {} : { spreadRunMs: options.spreadRunMs }),
      ...(options.sqliteCacheMb === undefined ? {} : { sqliteCacheMb: options.sqliteCacheMb }),
      ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
      ...(options.decoyFunder ? { decoyClients: { funder: readKeyFile(options.decoyFunder) } } : {}),
      log,
    }
    // `--fault`: the honest node's parts composed with a lying executor and defender (tests and demos only).
    const node = options.fault ? createCheatingNode(nodeOptions, options.fault) : createInferenceNode(nodeOptions)
    const url = await node.start(options.port, options.host)
    console.log(JSON.stringify({ role, url, address: node.address, db: options.db, ...node.store.counts() }))
    await waitForSignal()
    await node.stop()
    return
  }
  const verifier = createVerifier({
    chain,
    book,
    key,
    dbPath: options.db,
    hubUrl: options.hub,
    ...(options.sampleRate === undefined ? {} : { sampleRate: options.sampleRate }),
    log,
  })
  verifier.start()
  const server = await serveApp(verifier.app, options.port, options.host)
  console.log(JSON.stringify({ role, url: server.url, address: verifier.address, db: options.db }))
  await waitForSignal()
  await server.close()
  await verifier.stop()
}

/** `verity model publish`: import (or take an artifact), upload to the hub, register on-chain. */
export async function modelPublish(
  file: string,
  options: { hub: string; rpc: string; key: string; addresses: string; calibrate?: string; count: number; json: boolean },
): Promise<void> {
  const bytes = new Uint8Array(readFileSync(file))
  let artifact: Uint8Array
  if (file.endsWith('.onnx')) {
    if (!options.calibrate) throw new UsageError('publishing an ONNX file needs --calibrate (mnist:<dir>, random or a JSON file)')
    artifact = importOnnx(bytes, {
      calibration: calibrationSamples(options.calibrate, bytes, options.count),
      fileName: basename(file),
    }).artifact
  } else {
    loadModel(bytes)
    artifact = bytes
  }
  const book = readAddressBook(options.addresses)
  const chain = await connect(options.rpc, { expectedChainId: book.chainId, pollingInterval: 250 })
  const published = await publishModel({ chain, book, key: readKeyFile(options.key), hubUrl: options.hub, artifact })
  if (options.json) console.log(JSON.stringify(published))
  else {
    console.log(`model id     ${published.modelId}${published.registered ? '' : ' (already registered)'}`)
    console.log(`artifact     ${published.artifactURI}`)
    console.log(`weights root ${published.weightsRoot}`)
  }
}
