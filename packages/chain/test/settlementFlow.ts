import {
  buildReceiptTree,
  eip712Types,
  encodeMode,
  hashReceipt,
  hashRequest,
  type InferenceRequest,
  modelIdOf,
  type Receipt,
  Role,
  verityDomain,
} from '@verity/contracts'
import { keccak256, toHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { expect } from 'vitest'
import { type Chain, ContractRevertError, deployVerity, devAccounts, TxSender, verityContracts } from '../src/index.js'

const TOKEN = 10n ** 18n

/**
 * The whole settlement life cycle on any chain: deploy → register model → stake → deposit →
 * sign requests and receipts → commit → prove inclusion → attest → finalize → claim → unbond →
 * withdraw. Shared by the embedded-chain and anvil integration tests.
 */
export async function runSettlementFlow(chain: Chain): Promise<void> {
  const [deployerKey, nodeKey, verifierKey, clientKey] = devAccounts(4).map((a) => a.privateKey)
  const params = { challengeWindow: 60, maxDisputeDuration: 120, unbondingDelay: 600, escrowWithdrawalDelay: 60 }
  const book = await deployVerity({ chain, deployer: deployerKey!, params })
  const { settlement, token, nodeRegistry, modelRegistry } = verityContracts(chain, book)
  const deployer = new TxSender({ chain, account: deployerKey! })
  const node = new TxSender({ chain, account: nodeKey! })
  const verifier = new TxSender({ chain, account: verifierKey! })
  const client = new TxSender({ chain, account: clientKey! })
  const t = { address: book.contracts.token, abi: token.abi } as const
  const s = { address: book.contracts.settlement, abi: settlement.abi } as const
  const r = { address: book.contracts.nodeRegistry, abi: nodeRegistry.abi } as const

  for (const to of [node.address, verifier.address, client.address]) {
    await deployer.write({ ...t, functionName: 'transfer', args: [to, 10_000n * TOKEN] })
  }
  const roots = {
    artifactHash: keccak256(toHex('mnist-8 artifact')),
    weightsRoot: keccak256(toHex('weights')),
    graphRoot: keccak256(toHex('graph')),
    specHash: keccak256(toHex('spec')),
  }
  const modelId = modelIdOf(roots)
  await node.write({
    address: book.contracts.modelRegistry,
    abi: modelRegistry.abi,
    functionName: 'register',
    args: ['http://hub/models/x', roots.artifactHash, roots.weightsRoot, roots.graphRoot, roots.specHash],
  })
  expect(await modelRegistry.read.isActive([modelId])).toBe(true)

  await node.write({ ...t, functionName: 'approve', args: [r.address, 2000n * TOKEN] })
  await node.write({ ...r, functionName: 'register', args: [Role.inference, 'http://node-a', 2000n * TOKEN] })
  await verifier.write({ ...t, functionName: 'approve', args: [r.address, 500n * TOKEN] })
  await verifier.write({ ...r, functionName: 'register', args: [Role.verifier, 'http://verifier-a', 500n * TOKEN] })
  expect(await nodeRegistry.read.isActive([node.address, Role.inference])).toBe(true)
  expect(await nodeRegistry.read.isActive([verifier.address, Role.verifier])).toBe(true)

  await client.write({ ...t, functionName: 'approve', args: [s.address, 100n * TOKEN] })
  await client.write({ ...s, functionName: 'deposit', args: [100n * TOKEN] })

  // Three requests signed by the client, three receipts signed by the node.
  const domain = { chainId: chain.chainId, settlement: book.contracts.settlement }
  const fee = 2n * TOKEN
  const receipts: Receipt[] = []
  for (let i = 0; i < 3; i++) {
    const request: InferenceRequest = {
      modelId,
      inputHash: keccak256(toHex(`input ${i}`)),
      node: node.address,
      mode: encodeMode('optimistic'),
      maxFee: fee,
      nonce: BigInt(i),
      deadline: 2n ** 40n,
    }
    const clientAccount = privateKeyToAccount(clientKey!)
    const signature = await clientAccount.signTypedData({
      domain: verityDomain(domain),
      types: eip712Types,
      primaryType: 'InferenceRequest',
      message: request,
    })
    expect(signature).toMatch(/^0x[0-9a-f]{130}$/)
    expect(await settlement.read.requestDigest([request])).toBe(hashRequest(request, domain))
    receipts.push({
      requestHash: hashRequest(request, domain),
      modelId,
      inputHash: request.inputHash,
      outputHash: keccak256(toHex(`output ${i}`)),
      node: node.address,
      client: client.address,
      fee,
      issuedAt: BigInt(Math.floor(Date.now() / 1000)),
      mode: request.mode,
    })
  }
  const digests = receipts.map((receipt) => hashReceipt(receipt, domain))
  const tree = buildReceiptTree(digests)
  const commit = await node.write({
    ...s,
    functionName: 'commitBatch',
    args: [tree.root, 3, 3n * fee, 'http://node-a/v1/batches/1', [{ client: client.address, amount: 3n * fee }]],
  })
  expect(commit.gasUsed).toBeGreaterThan(0n)
  const batchId = await settlement.read.batchCount()
  expect(batchId).toBe(1n)
  for (const [index, receipt] of receipts.entries()) {
    expect(await settlement.read.receiptDigest([receipt])).toBe(digests[index])
    expect(await settlement.read.verifyReceipt([batchId, receipt, index, tree.proof(index)])).toBe(true)
  }
  expect(await settlement.read.verifyReceipt([batchId, receipts[0]!, 1, tree.proof(0)])).toBe(false)

  await verifier.write({ ...s, functionName: 'attest', args: [batchId, [0b111n]] })
  const early = await node.write({ ...s, functionName: 'finalize', args: [batchId, [verifier.address]] }).catch((e: unknown) => e)
  expect(early).toBeInstanceOf(ContractRevertError)
  expect((early as ContractRevertError).errorName).toBe('ChallengeWindowOpen')

  await chain.increaseTime(61)
  await client.write({ ...s, functionName: 'finalize', args: [batchId, [verifier.address]] })
  const verifierShare = (3n * fee * 1000n) / 10_000n
  expect(await settlement.read.claimable([verifier.address])).toBe(verifierShare)
  expect(await settlement.read.claimable([node.address])).toBe(3n * fee - verifierShare)
  const again = await client.write({ ...s, functionName: 'finalize', args: [batchId, [verifier.address]] }).catch((e: unknown) => e)
  expect((again as ContractRevertError).errorName).toBe('BatchAlreadyFinalized')

  const nodeBefore = await token.read.balanceOf([node.address])
  await node.write({ ...s, functionName: 'claim', args: [] })
  await verifier.write({ ...s, functionName: 'claim', args: [] })
  expect(await token.read.balanceOf([node.address])).toBe(nodeBefore + 3n * fee - verifierShare)

  await node.write({ ...r, functionName: 'requestUnbond', args: [Role.inference, 2000n * TOKEN] })
  expect(await nodeRegistry.read.isActive([node.address, Role.inference])).toBe(false)
  const tooSoon = await node.write({ ...r, functionName: 'withdraw', args: [Role.inference] }).catch((e: unknown) => e)
  expect((tooSoon as ContractRevertError).errorName).toBe('StillUnbonding')
  await chain.increaseTime(601)
  const beforeWithdraw = await token.read.balanceOf([node.address])
  await node.write({ ...r, functionName: 'withdraw', args: [Role.inference] })
  expect(await token.read.balanceOf([node.address])).toBe(beforeWithdraw + 2000n * TOKEN)
  expect(await token.read.balanceOf([s.address])).toBe(100n * TOKEN - 3n * fee)
}
