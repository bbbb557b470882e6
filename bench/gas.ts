/**
 * Gas report: every external state-changing function of the Verity contracts, and the amortized
 * settlement gas per inference (commitBatch + attest + finalize, divided by the receipts) for
 * batches of 1, 64 and 1,024 receipts. Runs on the embedded EDR chain (Prague rules).
 *
 *   npm run bench:gas          # prints the report and rewrites docs/gas-report.md
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { deployVerity, startEmbeddedChain, TxSender, verityContracts, type WriteResult } from '@verity/chain'
import { buildReceiptTree, hashReceipt, type Receipt, Role } from '@verity/contracts'
import { type Address, encodeFunctionData, type Hex, keccak256, toHex } from 'viem'
import { fingerprintLine } from '../scripts/docFingerprint.js'

const TOKEN = 10n ** 18n
const chain = await startEmbeddedChain({ accounts: 40, blockGasLimit: 100_000_000n })
const params = { challengeWindow: 100, maxDisputeDuration: 200, unbondingDelay: 1000, escrowWithdrawalDelay: 50 }
const book = await deployVerity({ chain, deployer: chain.accounts[0]!.privateKey, params })
const { token, settlement, nodeRegistry, modelRegistry } = verityContracts(chain, book)
const senders = chain.accounts.map((a) => new TxSender({ chain, account: a.privateKey }))
const [deployer, node, verifierA, verifierB, verifierC, challenger, ...clients] = senders as [TxSender, ...TxSender[]]
const t = { address: book.contracts.token, abi: token.abi } as const
const s = { address: book.contracts.settlement, abi: settlement.abi } as const
const r = { address: book.contracts.nodeRegistry, abi: nodeRegistry.abi } as const
const m = { address: book.contracts.modelRegistry, abi: modelRegistry.abi } as const
const domain = { chainId: chain.chainId, settlement: book.contracts.settlement }

type Row = { contract: string; fn: string; case: string; gas: bigint }
const rows: Row[] = []
const record = (contract: string, fn: string, caseName: string, result: WriteResult) => {
  rows.push({ contract, fn, case: caseName, gas: result.gasUsed })
  return result
}

for (const sender of senders.slice(1)) {
  await deployer.write({ ...t, functionName: 'transfer', args: [sender.address, 1_000_000n * TOKEN] })
}
record('VerityToken', 'approve', 'first approval', await node!.write({ ...t, functionName: 'approve', args: [r.address, 2n ** 255n] }))
record(
  'VerityToken',
  'transfer',
  'to a funded account',
  await deployer.write({ ...t, functionName: 'transfer', args: [node!.address, TOKEN] }),
)
for (const sender of senders.slice(1)) {
  for (const spender of [s.address, r.address]) await sender.write({ ...t, functionName: 'approve', args: [spender, 2n ** 255n] })
}

// Registries.
const modelId = keccak256(toHex('model'))
record(
  'ModelRegistry',
  'register',
  'hub URL of 40 bytes',
  await node!.write({
    ...m,
    functionName: 'register',
    args: [modelId, 'http://127.0.0.1:7070/v1/models/0x1234abcd', keccak256(toHex('w')), keccak256(toHex('g')), keccak256(toHex('s'))],
  }),
)
record(
  'ModelRegistry',
  'setArtifactURI',
  'same length',
  await node!.write({ ...m, functionName: 'setArtifactURI', args: [modelId, 'http://127.0.0.1:7070/v1/models/0x1234abce'] }),
)
record('ModelRegistry', 'deprecate', '', await node!.write({ ...m, functionName: 'deprecate', args: [modelId] }))
record(
  'NodeRegistry',
  'register',
  'inference node',
  await node!.write({ ...r, functionName: 'register', args: [Role.inference, 'http://127.0.0.1:7101', 2000n * TOKEN] }),
)
for (const v of [verifierA!, verifierB!, verifierC!]) {
  const result = await v.write({ ...r, functionName: 'register', args: [Role.verifier, 'http://127.0.0.1:7201', 200n * TOKEN] })
  if (v === verifierA) record('NodeRegistry', 'register', 'verifier', result)
}
record(
  'NodeRegistry',
  'stake',
  'add to active stake',
  await node!.write({ ...r, functionName: 'stake', args: [Role.inference, 100n * TOKEN] }),
)
record(
  'NodeRegistry',
  'setEndpoint',
  '',
  await node!.write({ ...r, functionName: 'setEndpoint', args: [Role.inference, 'http://127.0.0.1:7102'] }),
)
record(
  'NodeRegistry',
  'requestUnbond',
  '',
  await node!.write({ ...r, functionName: 'requestUnbond', args: [Role.inference, 100n * TOKEN] }),
)
await chain.increaseTime(1001)
record('NodeRegistry', 'withdraw', 'after the delay', await node!.write({ ...r, functionName: 'withdraw', args: [Role.inference] }))
const slasherRole = keccak256(toHex('SLASHER_ROLE'))
await deployer.write({ ...r, functionName: 'grantRole', args: [slasherRole, deployer.address] })
record(
  'NodeRegistry',
  'slash',
  'from active stake',
  await deployer.write({ ...r, functionName: 'slash', args: [verifierC!.address, Role.verifier, TOKEN, deployer.address] }),
)

// Escrow.
for (const client of clients) await client.write({ ...s, functionName: 'deposit', args: [10_000n * TOKEN] })
record('Settlement', 'deposit', 'existing balance', await clients[0]!.write({ ...s, functionName: 'deposit', args: [TOKEN] }))
await deployer.write({ ...t, functionName: 'approve', args: [s.address, 2n ** 255n] })
record(
  'Settlement',
  'depositFor',
  'existing balance',
  await deployer.write({ ...s, functionName: 'depositFor', args: [clients[1]!.address, TOKEN] }),
)
record('Settlement', 'requestWithdrawal', '', await clients[0]!.write({ ...s, functionName: 'requestWithdrawal', args: [TOKEN] }))
await chain.increaseTime(51)
record('Settlement', 'withdraw', 'after the delay', await clients[0]!.write({ ...s, functionName: 'withdraw', args: [] }))

// Batches.
const fee = 10n ** 15n
function receipts(
  count: number,
  clientCount: number,
): { root: Hex; leaves: Receipt[]; debits: { client: Address; amount: bigint }[]; tree: ReturnType<typeof buildReceiptTree> } {
  const leaves: Receipt[] = Array.from({ length: count }, (_, i) => ({
    requestHash: keccak256(toHex(`request ${i}`)),
    modelId,
    inputHash: keccak256(toHex(`input ${i}`)),
    outputHash: keccak256(toHex(`output ${i}`)),
    node: node!.address,
    client: clients[i % clientCount]!.address,
    fee,
    issuedAt: 1n,
    mode: 1,
  }))
  const tree = buildReceiptTree(leaves.map((leaf) => hashReceipt(leaf, domain)))
  const perClient = new Map<Address, bigint>()
  for (const leaf of leaves) perClient.set(leaf.client, (perClient.get(leaf.client) ?? 0n) + leaf.fee)
  const debits = [...perClient]
    .map(([client, amount]) => ({ client, amount }))
    .sort((a, b) => (BigInt(a.client) < BigInt(b.client) ? -1 : 1))
  return { root: tree.root, leaves, debits, tree }
}
const fullBitmap = (count: number) =>
  Array.from({ length: Math.ceil(count / 256) }, (_, w) => {
    const bits = Math.min(256, count - w * 256)
    return bits === 256 ? 2n ** 256n - 1n : (1n << BigInt(bits)) - 1n
  })

type Amortized = { receipts: number; clients: number; verifiers: number; commit: bigint; attest: bigint; finalize: bigint }
const amortized: Amortized[] = []
async function settleBatch(count: number, clientCount: number, verifiers: TxSender[], recordRows = false): Promise<Amortized> {
  const batch = receipts(count, clientCount)
  const feeTotal = batch.debits.reduce((sum, d) => sum + d.amount, 0n)
  const commit = await node!.write({
    ...s,
    functionName: 'commitBatch',
    args: [batch.root, count, feeTotal, 'http://127.0.0.1:7102/v1/batches', batch.debits],
  })
  const batchId = await settlement.read.batchCount()
  let attest = 0n
  for (const v of verifiers) attest += (await v.write({ ...s, functionName: 'attest', args: [batchId, fullBitmap(count)] })).gasUsed
  await chain.increaseTime(101)
  const attesters = verifiers.map((v) => v.address).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))
  const finalize = await challenger!.write({ ...s, functionName: 'finalize', args: [batchId, attesters] })
  if (recordRows) {
    record('Settlement', 'commitBatch', `${count} receipts, ${clientCount} client(s)`, commit)
    record('Settlement', 'finalize', `${verifiers.length} attester(s)`, finalize)
  }
  return { receipts: count, clients: clientCount, verifiers: verifiers.length, commit: commit.gasUsed, attest, finalize: finalize.gasUsed }
}

// Warm-up round so every account's `claimable` slot exists (steady state of a running network).
await settleBatch(4, 1, [verifierA!, verifierB!])
for (const count of [1, 64, 1024]) amortized.push(await settleBatch(count, 1, [verifierA!], count === 64))
for (const count of [64, 1024]) amortized.push(await settleBatch(count, 16, [verifierA!], count === 1024))
for (const count of [1, 64, 1024]) amortized.push(await settleBatch(count, 1, [verifierA!, verifierB!, verifierC!]))

// A node that batches continuously commits batch N and finalizes an older batch in one transaction.
const multicallRows: { receipts: number; combined: bigint; attest: bigint }[] = []
for (const count of [64, 1024]) {
  const older = receipts(count, 1)
  await node!.write({ ...s, functionName: 'commitBatch', args: [older.root, count, BigInt(count) * fee, '', older.debits] })
  const olderId = await settlement.read.batchCount()
  const attest = await verifierA!.write({ ...s, functionName: 'attest', args: [olderId, fullBitmap(count)] })
  await chain.increaseTime(101)
  const next = receipts(count, 1)
  const calls = [
    encodeFunctionData({
      abi: settlement.abi,
      functionName: 'commitBatch',
      args: [next.root, count, BigInt(count) * fee, '', next.debits],
    }),
    encodeFunctionData({ abi: settlement.abi, functionName: 'finalize', args: [olderId, [verifierA!.address]] }),
  ]
  const combined = await node!.write({ ...s, functionName: 'multicall', args: [calls] })
  multicallRows.push({ receipts: count, combined: combined.gasUsed, attest: attest.gasUsed })
  if (count === 1024) record('Settlement', 'multicall', 'commitBatch (1,024 receipts) + finalize of an older batch', combined)
}

// Attestation, challenge and claim rows.
{
  const batch = receipts(1024, 1)
  await node!.write({ ...s, functionName: 'commitBatch', args: [batch.root, 1024, 1024n * fee, '', batch.debits] })
  const batchId = await settlement.read.batchCount()
  record(
    'Settlement',
    'attest',
    '1,024 receipts (4-word bitmap)',
    await verifierA!.write({ ...s, functionName: 'attest', args: [batchId, fullBitmap(1024)] }),
  )
  record(
    'Settlement',
    'attest',
    '64 of 1,024 receipts sampled',
    await verifierB!.write({ ...s, functionName: 'attest', args: [batchId, [2n ** 64n - 1n, 0n, 0n, 0n]] }),
  )
  record(
    'Settlement',
    'challenge',
    'receipt 5 of 1,024 (10-sibling proof)',
    await challenger!.write({ ...s, functionName: 'challenge', args: [batchId, batch.leaves[5]!, 5, batch.tree.proof(5)] }),
  )
  const challengeId = await settlement.read.challengeCount()
  await chain.increaseTime(201)
  record('Settlement', 'expireChallenge', '', await clients[2]!.write({ ...s, functionName: 'expireChallenge', args: [challengeId] }))
  record('Settlement', 'claim', '', await node!.write({ ...s, functionName: 'claim', args: [] }))
}
await chain.close()

const fmt = (n: bigint | number) => Number(n).toLocaleString('en-US', { maximumFractionDigits: 1 })
const lines = [
  '# Gas report',
  '',
  '<!-- generated by `npm run bench:gas` (bench/gas.ts) — do not edit -->',
  fingerprintLine('docs/gas-report.md'),
  '',
  'Measured on the embedded EDR chain (Prague rules), solc 0.8.37 with the optimizer at 10,000 runs,',
  'EVM target cancun. Gas used by the whole transaction, including the 21,000 base cost and calldata.',
  'Storage is in steady state (accounts have been paid before) unless the case says otherwise.',
  '',
  '## Every external function',
  '',
  '| contract | function | case | gas |',
  '| --- | --- | --- | ---: |',
  ...rows.map((row) => `| ${row.contract} | \`${row.fn}\` | ${row.case} | ${fmt(row.gas)} |`),
  '',
  '## Amortized settlement gas per inference',
  '',
  'commitBatch + attest (every verifier, whole-batch bitmap) + finalize, divided by the receipts.',
  '',
  '| receipts | clients debited | verifiers | commitBatch | attest (all) | finalize | total | **gas / inference** |',
  '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...amortized.map((a) => {
    const total = a.commit + a.attest + a.finalize
    return `| ${fmt(a.receipts)} | ${a.clients} | ${a.verifiers} | ${fmt(a.commit)} | ${fmt(a.attest)} | ${fmt(a.finalize)} | ${fmt(total)} | **${fmt(Number(total) / a.receipts)}** |`
  }),
  '',
  'With `multicall`, a node that commits continuously finalizes an older batch in the same transaction',
  'as its next commit, saving one transaction base cost per batch:',
  '',
  '| receipts | commitBatch + finalize (one multicall) | attest (1 verifier) | total | **gas / inference** |',
  '| ---: | ---: | ---: | ---: | ---: |',
  ...multicallRows.map(
    (row) =>
      `| ${fmt(row.receipts)} | ${fmt(row.combined)} | ${fmt(row.attest)} | ${fmt(row.combined + row.attest)} | **${fmt(Number(row.combined + row.attest) / row.receipts)}** |`,
  ),
  '',
]
const report = lines.join('\n')
console.log(report)
writeFileSync(join(import.meta.dirname, '..', 'docs', 'gas-report.md'), report)
