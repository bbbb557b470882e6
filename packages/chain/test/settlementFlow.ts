import {
  buildBatchTree,
  eip712Types,
  encodeMode,
  hashReceipt,
  hashRequest,
  type InferenceRequest,
  modelIdOf,
  NO_DECOYS_COMMIT,
  NO_DECOYS_SALT,
  type Receipt,
  Role,
  verityDomain,
} from '@verity/contracts'
import { keccak256, toHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { expect } from 'vitest'
import { guessedTags } from '../../contracts/test/guessedTags.js'
import { type Chain, ContractRevertError, deployVerity, devAccounts, TxSender, verityContracts } from '../src/index.js'

const TOKEN = 10n ** 18n

/**
 * The whole settlement life cycle on any chain: deploy → register model → stake → deposit →
 * sign requests (payment vouchers on the client's channel) and receipts → commit → prove inclusion
 * → attest → finalize → redeem the latest voucher → attesters paid from the pot → claim → unbond →
 * withdraw. Shared by the embedded-chain and anvil integration tests.
 */
export async function runSettlementFlow(chain: Chain): Promise<void> {
  const [deployerKey, nodeKey, verifierKey, clientKey] = devAccounts(4).map((a) => a.privateKey)
  // Every leaf assigned to the verifier (minSampleRateBps 10,000): it attests whole batches.
  const params = {
    challengeWindow: 60,
    maxDisputeDuration: 120,
    unbondingDelay: 600,
    escrowWithdrawalDelay: 200,
    dataResponseTime: 30,
    minSampleRateBps: 10_000,
  }
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

  // Requests signed by the client (each carries the channel's running total), receipts by the node.
  const domain = { chainId: chain.chainId, settlement: book.contracts.settlement }
  const clientAccount = privateKeyToAccount(clientKey!)
  const fee = 2n * TOKEN
  const sign = async (i: number) => {
    const request: InferenceRequest = {
      modelId,
      inputHash: keccak256(toHex(`input ${i}`)),
      node: node.address,
      mode: encodeMode('optimistic'),
      maxFee: fee,
      nonce: BigInt(i),
      deadline: 2n ** 40n,
      channelTotal: fee * BigInt(i + 1),
    }
    const signature = await clientAccount.signTypedData({
      domain: verityDomain(domain),
      types: eip712Types,
      primaryType: 'InferenceRequest',
      message: request,
    })
    expect(signature).toMatch(/^0x[0-9a-f]{130}$/)
    const receipt: Receipt = {
      requestHash: hashRequest(request, domain),
      modelId,
      inputHash: request.inputHash,
      outputHash: keccak256(toHex(`output ${i}`)),
      node: node.address,
      client: client.address,
      fee,
      issuedAt: BigInt(Math.floor(Date.now() / 1000)),
      mode: request.mode,
    }
    return { request, signature, receipt }
  }
  const signed = [await sign(0), await sign(1), await sign(2)]
  const receipts = signed.map((x) => x.receipt)
  const digests = receipts.map((receipt) => hashReceipt(receipt, domain))
  const tree = buildBatchTree(digests, NO_DECOYS_COMMIT)
  // Committing moves no money.
  const commit = await node.write({
    ...s,
    functionName: 'commitBatch',
    args: [tree.root, 3, 3n * fee, 1, 'http://node-a/v1/batches/1'],
  })
  expect(commit.gasUsed).toBeGreaterThan(0n)
  const batchId = await settlement.read.batchCount()
  expect(batchId).toBe(1n)
  expect((await settlement.read.escrowOf([client.address])).balance).toBe(100n * TOKEN)
  expect(await settlement.read.exposureOf([node.address])).toEqual({ commits: 1, openReceipts: 3 })
  for (const [index, receipt] of receipts.entries()) {
    expect(await settlement.read.receiptDigest([receipt])).toBe(digests[index])
    expect(await settlement.read.verifyReceipt([batchId, receipt, index, tree.proof(index)])).toBe(true)
  }
  expect(await settlement.read.verifyReceipt([batchId, receipts[0]!, 1, tree.proof(0)])).toBe(false)

  await verifier.write({ ...s, functionName: 'attest', args: [batchId, [0b111n], guessedTags([0b111n])] })
  const early = await node.write({ ...s, functionName: 'finalize', args: [batchId, [verifier.address]] }).catch((e: unknown) => e)
  expect(early).toBeInstanceOf(ContractRevertError)
  expect((early as ContractRevertError).errorName).toBe('ChallengeWindowOpen')

  await chain.increaseTime(61)
  // Decoys (forced errors) are revealed by the node once the window is over; finalize needs that.
  await node.write({ ...s, functionName: 'revealDecoys', args: [batchId, NO_DECOYS_SALT, tree.receiptsRoot] })
  await client.write({ ...s, functionName: 'finalize', args: [batchId, [verifier.address]] })
  expect(await settlement.read.exposureOf([node.address])).toEqual({ commits: 1, openReceipts: 0 })
  const again = await client.write({ ...s, functionName: 'finalize', args: [batchId, [verifier.address]] }).catch((e: unknown) => e)
  expect((again as ContractRevertError).errorName).toBe('BatchAlreadyFinalized')

  // The node redeems the latest voucher once: the client pays the channel's total, verifierShareBps of it to the verifiers' pot.
  const redemption = (x: (typeof signed)[number], id: bigint, index: number, proof: `0x${string}`[]) =>
    [x.request, x.signature, { outputHash: x.receipt.outputHash, fee, issuedAt: x.receipt.issuedAt, batchId: id, index, proof }] as const
  await node.write({ ...s, functionName: 'redeem', args: redemption(signed[2]!, batchId, 2, tree.proof(2)) })
  const share = (3n * fee * BigInt(book.params.verifierShareBps)) / 10_000n
  expect((await settlement.read.escrowOf([client.address])).balance).toBe(100n * TOKEN - 3n * fee)
  expect(await settlement.read.claimable([node.address])).toBe(3n * fee - share)
  expect(await settlement.read.verificationPot([1])).toBe(share)
  const replay = await node
    .write({ ...s, functionName: 'redeem', args: redemption(signed[1]!, batchId, 1, tree.proof(1)) })
    .catch((e: unknown) => e)
  expect((replay as ContractRevertError).errorName).toBe('ChannelNotAhead')

  // A second batch: its attester is paid from the pot at finalize.
  const next = await sign(3)
  const nextTree = buildBatchTree([hashReceipt(next.receipt, domain)], NO_DECOYS_COMMIT)
  await node.write({
    ...s,
    functionName: 'commitBatch',
    args: [nextTree.root, 1, fee, 2, 'http://node-a/v1/batches/2'],
  })
  await verifier.write({ ...s, functionName: 'attest', args: [2n, [1n], guessedTags([1n])] })
  await chain.increaseTime(61)
  await node.write({ ...s, functionName: 'revealDecoys', args: [2n, NO_DECOYS_SALT, nextTree.receiptsRoot] })
  await client.write({ ...s, functionName: 'finalize', args: [2n, [verifier.address]] })
  const verifierShare = (fee * BigInt(book.params.verifierShareBps)) / 10_000n
  expect(await settlement.read.claimable([verifier.address])).toBe(verifierShare)
  await node.write({ ...s, functionName: 'redeem', args: redemption(next, 2n, 0, nextTree.proof(0)) })
  const nodeShare = 3n * fee - share + fee - verifierShare

  const nodeBefore = await token.read.balanceOf([node.address])
  await node.write({ ...s, functionName: 'claim', args: [] })
  await verifier.write({ ...s, functionName: 'claim', args: [] })
  expect(await token.read.balanceOf([node.address])).toBe(nodeBefore + nodeShare)

  await node.write({ ...r, functionName: 'requestUnbond', args: [Role.inference, 2000n * TOKEN] })
  expect(await nodeRegistry.read.isActive([node.address, Role.inference])).toBe(false)
  const tooSoon = await node.write({ ...r, functionName: 'withdraw', args: [Role.inference] }).catch((e: unknown) => e)
  expect((tooSoon as ContractRevertError).errorName).toBe('StillUnbonding')
  await chain.increaseTime(601)
  const beforeWithdraw = await token.read.balanceOf([node.address])
  await node.write({ ...r, functionName: 'withdraw', args: [Role.inference] })
  expect(await token.read.balanceOf([node.address])).toBe(beforeWithdraw + 2000n * TOKEN)
  // Left in the settlement: the client's escrow and the verifiers' pot.
  // The first redemption's share, less the second batch's attester pay, plus the second redemption's share.
  const pot = share - verifierShare + (fee * BigInt(book.params.verifierShareBps)) / 10_000n
  expect(await settlement.read.verificationPot([1])).toBe(pot)
  expect(await token.read.balanceOf([s.address])).toBe(100n * TOKEN - 4n * fee + pot)
}
