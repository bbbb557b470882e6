// What decoy clients cost a node (docs/economics.md, "Decoy clients"): a one-node devnet with the
// deployment's decoy rate, its decoy clients funded by the deployer, a workload of REQUESTS MNIST
// digits from the devnet's clients in batches of BATCH. Prints, per decoy client made ready: the gas
// of its funding (the funder's native-coin and token transfers) and of its own approve and deposit,
// its canaries and their compute, beside a real request's compute and the node's commit gas per batch;
// then, moving the chain's clock past the window and the withdrawal delay, the gas of giving the used
// clients' escrow back to the funder.
// Run: npm run bench:decoys   (VERITY_DECOY_REQUESTS, VERITY_DECOY_BATCH to change the workload)
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startDevnet } from '../packages/cli/src/devnet/startDevnet.js'
import { settlementAbi } from '../packages/contracts/src/index.js'
import { mnistImage } from '../packages/runtime/src/index.js'
import { infer } from '../packages/sdk/src/index.js'

const requests = Number(process.env.VERITY_DECOY_REQUESTS ?? 200)
const batch = Number(process.env.VERITY_DECOY_BATCH ?? 32)
const dir = mkdtempSync(join(tmpdir(), 'verity-decoy-bench-'))
const net = await startDevnet({ dir: join(dir, 'net'), nodes: 1, verifiers: 0, window: 30, batchSize: batch, batchAgeMs: 1000 })
try {
  const node = net.nodes[0]!.node
  for (let i = 0; i < requests; i++)
    await infer(net.clients[i % net.clients.length]!, {
      modelId: net.modelId,
      inputs: { Input3: mnistImage(net.mnist, i) },
      node: net.nodes[0]!.url,
    })
  await new Promise((r) => setTimeout(r, 3000))
  const db = node.store.db
  // Past the window (batches final, decoys revealed, canaries redeemed), then past the withdrawal delay:
  // the used clients' escrow goes back to the funder, and their whole life's gas is counted.
  const madeReady = db.prepare("SELECT gas_used FROM decoy_clients WHERE state IN ('ready', 'used')").all() as { gas_used: string }[]
  await net.chain.increaseTime(net.book.params.challengeWindow + 2)
  const state = (s: string) => (db.prepare('SELECT COUNT(*) AS n FROM decoy_clients WHERE state = ?').get(s) as { n: number }).n
  for (let i = 0; i < 300 && state('used') > 0; i++) await new Promise((r) => setTimeout(r, 200))
  await net.chain.increaseTime(net.book.params.escrowWithdrawalDelay + 2)
  for (let i = 0; i < 300 && state('withdrawing') > 0; i++) await new Promise((r) => setTimeout(r, 200))
  const recovered = (db.prepare("SELECT gas_used FROM decoy_clients WHERE state = 'recovered'").all() as { gas_used: string }[]).map((c) =>
    Number(c.gas_used),
  )
  const done = db.prepare("SELECT address, canaries, gas_used FROM decoy_clients WHERE state != 'aging'").all() as {
    address: string
    canaries: number
    gas_used: string
  }[]
  const real = db
    .prepare(
      `SELECT COUNT(*) AS n, AVG(compute_ms) AS ms FROM inferences WHERE decoy_secret IS NULL AND client NOT IN (SELECT address FROM decoy_clients)`,
    )
    .get() as { n: number; ms: number }
  const canary = db
    .prepare(
      `SELECT COUNT(*) AS n, AVG(compute_ms) AS ms FROM inferences WHERE decoy_secret IS NULL AND client IN (SELECT address FROM decoy_clients)`,
    )
    .get() as { n: number; ms: number }
  const decoys = (db.prepare('SELECT COUNT(*) AS n FROM inferences WHERE decoy_secret IS NOT NULL').get() as { n: number }).n
  const commits = await net.chain.publicClient.getContractEvents({
    address: net.book.contracts.settlement,
    abi: settlementAbi,
    eventName: 'BatchCommitted',
    fromBlock: net.book.deployedAtBlock,
  })
  let commitGas = 0n
  for (const c of commits) commitGas += (await net.chain.publicClient.getTransactionReceipt({ hash: c.transactionHash })).gasUsed
  const gas = madeReady.map((c) => Number(c.gas_used))
  // The recovered clients' own transactions (approve, deposit, requestWithdrawal, withdraw, transfer back), from the blocks.
  const retired = new Set(
    (db.prepare("SELECT address FROM decoy_clients WHERE state = 'recovered'").all() as { address: string }[]).map((c) => c.address),
  )
  let ownGas = 0n
  let ownTxs = 0
  const latest = await net.chain.publicClient.getBlockNumber()
  for (let n = net.book.deployedAtBlock; n <= latest; n++) {
    const block = await net.chain.publicClient.getBlock({ blockNumber: n, includeTransactions: true })
    for (const tx of block.transactions)
      if (retired.has(tx.from.toLowerCase())) {
        ownGas += (await net.chain.publicClient.getTransactionReceipt({ hash: tx.hash })).gasUsed
        ownTxs++
      }
  }
  const costs = node.decoyCosts()!
  console.log(
    `${requests} requests from ${net.clients.length} clients, batches of up to ${batch}, decoy rate ${net.book.params.decoyRateBps} bps\n`,
  )
  console.log('| figure | value |')
  console.log('| --- | ---: |')
  console.log(`| batches committed | ${commits.length} |`)
  console.log(`| decoys made | ${decoys} (${costs.fallbacks} signed by a derived key: no pool client ready) |`)
  console.log(`| decoy clients made ready | ${done.length} (used ${costs.used}) |`)
  console.log(
    `| gas per decoy client made ready (funding transfers + its approve and deposit), mean | ${(gas.reduce((a, b) => a + b, 0) / Math.max(1, gas.length)).toFixed(0)} |`,
  )
  console.log(`| gas per decoy client, min – max | ${Math.min(...gas)} – ${Math.max(...gas)} |`)
  console.log(
    `| gas per decoy client, whole life (also its requestWithdrawal, withdraw and transfer back), mean over ${recovered.length} | ${(recovered.reduce((a, b) => a + b, 0) / Math.max(1, recovered.length)).toFixed(0)} |`,
  )
  console.log(
    `| a retired client's own transactions: count and gas, mean | ${(ownTxs / Math.max(1, retired.size)).toFixed(1)} txs, ${(Number(ownGas) / Math.max(1, retired.size)).toFixed(0)} gas |`,
  )
  console.log(`| commitBatch gas per batch, mean | ${(Number(commitGas) / Math.max(1, commits.length)).toFixed(0)} |`)
  console.log(`| canaries per decoy client, mean | ${(done.reduce((a, c) => a + c.canaries, 0) / Math.max(1, done.length)).toFixed(2)} |`)
  console.log(`| canary receipts / real receipts | ${canary.n} / ${real.n} = ${((100 * canary.n) / Math.max(1, real.n)).toFixed(1)} % |`)
  console.log(`| compute per canary / per real request, ms | ${canary.ms?.toFixed(3)} / ${real.ms?.toFixed(3)} |`)
} finally {
  await net.stop()
  rmSync(dir, { recursive: true, force: true })
}
