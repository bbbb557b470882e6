import { executionSecret, executionTag, packTags } from '@verity/protocol'
import { tensorBytes, tensorsHash } from '@verity/runtime/core'
import { createWalletClient, type Hex, http, parseEventLogs, toHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bitmapOf } from '../../node/src/selection.js'
import { settlementAbi } from '../src/index.js'
import { deployFixture, expectRevert, type Fixture, forgedReceipts, registerOperator, TOKEN, treeOf } from './fixture.js'
import { guessedTags } from './guessedTags.js'

// Execution tags (docs/protocol.md): an attestation carries, per receipt, a tag only a party that
// knows the receipt's outputs can compute; anyone holding the outputs refutes a wrong one on-chain.

describe('Settlement: execution tags', () => {
  let f: Fixture
  const COUNT = 6
  // Every leaf assigned to every verifier (P = 100 %), no decoys: the tags are the only check here.
  beforeAll(async () => {
    f = await deployFixture({ minSampleRateBps: 10_000, decoyRateBps: 0 })
    await registerOperator(f, f.senders[1]!, 'inference', 1_000n * TOKEN)
    for (const v of [2, 3, 4]) await registerOperator(f, f.senders[v]!, 'verifier')
  }, 120_000)
  afterAll(() => f?.close())
  const s = () => ({ address: f.book.contracts.settlement, abi: settlementAbi })
  const verifier = (n: number) => f.senders[n]!

  /** Outputs of receipt i (two tensors), and a batch whose receipts commit to them. */
  const outputsOf = (i: number) => [Int16Array.from([i, -7, 300 + i]), Int16Array.from([i * 11])]
  let batch: { batchId: bigint; receipts: ReturnType<typeof forgedReceipts>; proof(i: number): Hex[] }
  beforeAll(async () => {
    const receipts = forgedReceipts(COUNT, { node: f.senders[1]!.address, client: f.senders[5]!.address, fee: 1n, tag: 'tags' }).map(
      (r, i) => ({ ...r, outputHash: tensorsHash(outputsOf(i)) }),
    )
    const { tree } = treeOf(f, receipts)
    const result = await f.senders[1]!.write({ ...s(), functionName: 'commitBatch', args: [tree.root, COUNT, BigInt(COUNT), 1, ''] })
    const [event] = parseEventLogs({ abi: settlementAbi, eventName: 'BatchCommitted', logs: result.receipt.logs })
    batch = { batchId: event!.args.batchId, receipts, proof: (i) => [...tree.proof(i)] }
  })
  const all = [...Array(COUNT).keys()]
  const bitmap = bitmapOf(all, COUNT)
  const tagsFor = (address: Hex, wrong?: number) =>
    packTags(all.map((i) => (i === wrong ? '0x0123456789abcdef' : executionTag(executionSecret(outputsOf(i)), address, batch.batchId, i))))
  const outputsHex = (i: number) => outputsOf(i).map((t) => toHex(tensorBytes(t)))
  const refute = (by: Fixture['senders'][number], who: Hex, tags: Hex, i: number, outputs = outputsHex(i)) =>
    by.write({
      ...s(),
      functionName: 'refuteAttestation',
      args: [batch.batchId, { verifier: who, bitmap, tags }, batch.receipts[i]!, i, batch.proof(i), outputs],
    })

  it('refuses an attestation whose tags do not match the receipts it sets', async () => {
    await expectRevert(
      verifier(2).write({ ...s(), functionName: 'attest', args: [batch.batchId, bitmap, guessedTags([0b1n])] }),
      'TagsLength',
      [48n, 8n],
    )
  })

  it("cannot refute a verifier that executed: its tags are right (the TypeScript tag is the contract's)", async () => {
    const tags = tagsFor(verifier(2).address)
    await verifier(2).write({ ...s(), functionName: 'attest', args: [batch.batchId, bitmap, tags] })
    for (const i of [0, 5])
      await expectRevert(refute(f.senders[1]!, verifier(2).address, tags, i), 'TagCorrect', [batch.batchId, verifier(2).address, i])
    // Outputs that are not the receipt's prove nothing.
    await expectRevert(refute(f.senders[1]!, verifier(2).address, tags, 1, outputsHex(2)), 'DataMismatch')
  })

  it("a verifier that guessed one tag is slashed by the receipt's client, with its own key and plain viem", async () => {
    // The lazy verifier ran every receipt but the fourth (it has no outputs for it: it guessed).
    const lazy = verifier(3)
    const tags = tagsFor(lazy.address, 3)
    await lazy.write({ ...s(), functionName: 'attest', args: [batch.batchId, bitmap, tags] })
    // A right tag of the same attestation does not refute it.
    await expectRevert(refute(f.senders[1]!, lazy.address, tags, 2), 'TagCorrect')
    // A different bitmap or tags than it sent: not its attestation.
    await expectRevert(refute(f.senders[1]!, lazy.address, tagsFor(lazy.address), 3), 'NotAttested')
    const client = privateKeyToAccount(f.chain.accounts[5]!.privateKey)
    const wallet = createWalletClient({ account: client, chain: f.chain.publicClient.chain, transport: http(f.chain.rpcUrl) })
    const before = await f.chain.publicClient.readContract({ ...s(), functionName: 'claimable', args: [client.address] })
    const hash = await wallet.writeContract({
      ...s(),
      functionName: 'refuteAttestation',
      args: [batch.batchId, { verifier: lazy.address, bitmap, tags }, batch.receipts[3]!, 3, batch.proof(3), outputsHex(3)],
    })
    const receipt = await f.chain.publicClient.waitForTransactionReceipt({ hash })
    expect(receipt.status).toBe('success')
    const [refuted] = parseEventLogs({ abi: settlementAbi, eventName: 'ExecutionTagRefuted', logs: receipt.logs })
    const [slash] = parseEventLogs({ abi: settlementAbi, eventName: 'AttesterSlashed', logs: receipt.logs })
    expect(refuted!.args).toMatchObject({ batchId: batch.batchId, verifier: lazy.address, receiptIndex: 3, by: client.address })
    expect(slash!.args.slashed).toBe(f.book.params.attesterSlash)
    const bounty = (f.book.params.attesterSlash * BigInt(f.book.params.bountyBps)) / 10_000n
    expect(await f.chain.publicClient.readContract({ ...s(), functionName: 'claimable', args: [client.address] })).toBe(before + bounty)
    // Once per batch.
    await expectRevert(refute(f.senders[1]!, lazy.address, tags, 3), 'NotAttested')
  })

  it('the batch still finalizes, listing the refuted attester (which is not paid)', async () => {
    await f.chain.increaseTime(Number(f.book.params.challengeWindow) + 1)
    const attesters = [verifier(2).address, verifier(3).address].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))
    const claimable = (a: Hex) => f.chain.publicClient.readContract({ ...s(), functionName: 'claimable', args: [a] })
    const lazyBefore = await claimable(verifier(3).address)
    const result = await f.senders[1]!.write({ ...s(), functionName: 'finalize', args: [batch.batchId, attesters] })
    expect(parseEventLogs({ abi: settlementAbi, eventName: 'BatchFinalized', logs: result.receipt.logs })).toHaveLength(1)
    expect(await claimable(verifier(3).address)).toBe(lazyBefore)
  })
})
