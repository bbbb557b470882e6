import { connect, readAddressBook, readKeyFile } from '@verity/chain'
import { boundedFetch, type VerificationMode } from '@verity/protocol'
import {
  audit,
  createVerityClient,
  discoverNodes,
  getInference,
  infer,
  refuteAttestation,
  type VerityClient,
  watchTransitions,
} from '@verity/sdk'
import type { Hex } from 'viem'
import { generatePrivateKey } from 'viem/accounts'
import { runInputs, UsageError } from '../samples.js'

export type NetworkOptions = {
  rpc: string
  addresses: string
  key?: string
  node?: string
  json: boolean
  /** The widest block range one eth_getLogs asks the endpoint for. */
  logRange?: number
}

async function clientFor(options: NetworkOptions): Promise<VerityClient> {
  const book = readAddressBook(options.addresses)
  const chain = await connect(options.rpc, {
    expectedChainId: book.chainId,
    pollingInterval: 250,
    ...(options.logRange === undefined ? {} : { maxBlockRange: BigInt(options.logRange) }),
  })
  // Reading needs no funds: without --key a throwaway key is used.
  return createVerityClient({ chain, book, account: options.key ? readKeyFile(options.key) : generatePrivateKey() })
}

/** The node that holds an inference: --node, or the first registered node that knows it. */
async function nodeOf(client: VerityClient, inferenceId: string, node?: string): Promise<string> {
  if (node) return node
  for (const candidate of await discoverNodes(client)) {
    const answer = await boundedFetch(`${candidate.url}/v1/inferences/${inferenceId}`, { timeoutMs: 5000, maxBytes: 1 << 20 }).catch(
      () => undefined,
    )
    if (answer?.ok) return candidate.url
  }
  throw new UsageError(`no registered node knows inference ${inferenceId}; give --node`)
}

/** `verity infer`: the answer at once, then its trust transitions as they happen. */
export async function inferCommand(
  options: NetworkOptions & { model: string; input: string; mode: VerificationMode; wait: boolean },
): Promise<void> {
  if (!options.key) throw new UsageError('--key is required: the client key signs the request and pays the fee from its escrow')
  const client = await clientFor(options)
  // The registered model (fetched and checked against the registry) names and shapes the input.
  const model = await client.model(options.model as Hex)
  const result = await infer(client, {
    modelId: options.model as Hex,
    inputs: runInputs(options.input, model),
    mode: options.mode,
    ...(options.node ? { node: options.node } : {}),
  })
  const [name, output] = Object.entries(result.outputs)[0]!
  const best = output.values.indexOf(Math.max(...output.values))
  if (options.json)
    console.log(
      JSON.stringify({
        inferenceId: result.inferenceId,
        node: result.node,
        outputs: result.outputs,
        argmax: best,
        latencyMs: result.latencyMs,
      }),
    )
  else {
    console.log(`answer       ${name}: argmax ${best}  [${output.values.map((v) => v.toFixed(2)).join(', ')}]`)
    console.log(`inference    ${result.inferenceId}`)
    console.log(`node         ${result.node.url} (${result.node.address}), receipt in ${result.latencyMs.toFixed(1)} ms`)
    console.log(`receipt      output hash ${result.receipt.outputHash}, fee ${result.receipt.fee}`)
  }
  if (!options.wait) return
  const started = Number(result.receipt.issuedAt) * 1000
  for await (const t of watchTransitions(client, { inferenceId: result.inferenceId, node: result.node.url, pollIntervalMs: 500 })) {
    const line = {
      level: t.level,
      at: new Date(t.at).toISOString(),
      afterSeconds: Math.max(0, (t.at - started) / 1000),
      attestations: t.attestations,
    }
    if (options.json) console.log(JSON.stringify(line))
    else
      console.log(
        `${line.level.padEnd(10)} ${line.at}  +${line.afterSeconds.toFixed(1)} s${t.level === 'ATTESTED' ? ` (${t.attestations} verifier${t.attestations > 1 ? 's' : ''})` : ''}`,
      )
  }
}

/** `verity status <id>`: trust level and timeline, checked against the chain. */
export async function statusCommand(inferenceId: string, options: NetworkOptions): Promise<void> {
  const client = await clientFor(options)
  const node = await nodeOf(client, inferenceId, options.node)
  const s = await getInference(client, { inferenceId: inferenceId as Hex, node })
  if (options.json) {
    console.log(
      JSON.stringify({
        ...s,
        receipt: { ...s.receipt, fee: String(s.receipt.fee), issuedAt: String(s.receipt.issuedAt) },
        stakeAtRisk: String(s.stakeAtRisk),
      }),
    )
    return
  }
  console.log(`inference    ${s.inferenceId}`)
  console.log(
    `trust        ${s.level}${s.level === 'ATTESTED' ? ` by ${s.attestations} verifier(s)` : ''}, backed by ${Number(s.stakeAtRisk) / 1e18} VRT of node stake`,
  )
  if (s.batch)
    console.log(
      `batch        ${s.batch.batchId}, receipt ${s.batch.index} of ${s.batch.count}, root ${s.batch.root} (inclusion checked on-chain)`,
    )
  for (const e of s.timeline) console.log(`  ${e.level.padEnd(10)} ${new Date(e.at).toISOString()}${e.by ? `  ${e.by}` : ''}`)
}

/**
 * `verity audit <id>`: re-execute locally from public data and compare; check each attestation's
 * execution tag against the recomputed outputs, and with `--refute` (and `--key`) refute the wrong
 * ones on-chain (the caller earns the bounty).
 */
export async function auditCommand(inferenceId: string, options: NetworkOptions & { refute?: boolean }): Promise<void> {
  if (options.refute && !options.key) throw new UsageError('--refute sends transactions: give --key')
  const client = await clientFor(options)
  const node = await nodeOf(client, inferenceId, options.node)
  const a = await audit(client, { inferenceId: inferenceId as Hex, node })
  const wrong = a.attestations.filter((x) => !x.tagRight)
  const refuted: { verifier: Hex; slashed: string }[] = []
  if (options.refute)
    for (const x of wrong) {
      const { slashed } = await refuteAttestation(client, { inferenceId: inferenceId as Hex, node, verifier: x.verifier })
      refuted.push({ verifier: x.verifier, slashed: slashed.toString() })
    }
  if (options.json) console.log(JSON.stringify({ ...a, ...(options.refute ? { refuted } : {}) }))
  else {
    console.log(`${a.match ? 'MATCH' : 'MISMATCH'}  inference ${a.inferenceId}`)
    console.log(`  claimed     ${a.claimedOutputHash}`)
    console.log(`  recomputed  ${a.recomputedOutputHash} (locally, ${a.ms.toFixed(1)} ms)`)
    for (const x of a.attestations)
      console.log(
        `  attested by ${x.verifier}${x.paid ? '' : ' (unpaid)'}: ${x.tagRight ? 'tag right' : 'WRONG TAG — attested without executing'}`,
      )
    for (const r of refuted) console.log(`  refuted ${r.verifier}: slashed ${r.slashed} (token base units)`)
  }
  if (!a.match) process.exitCode = 2
  else if (wrong.length > refuted.length) process.exitCode = 3
}
