import { batchLeavesFor, decoyCommitOf, decoyCount, decoyOutputHashOf, decoyPosition, decoyPositions } from '@verity/protocol'
import { type Hex, keccak256, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bitmapOf } from '../../node/src/selection.js'
import { settlementAbi } from '../src/index.js'
import { deployFixture, expectRevert, type Fixture, forgedReceipts, registerOperator, TOKEN, treeOf } from './fixture.js'
import { guessedTags } from './guessedTags.js'

// Forced errors on-chain: a node commits its decoys' salt, reveals it after the window; a verifier
// that attested a decoy is slashed, a missing decoy slashes the node; finalize needs the reveal.
const RATE = 2500
const SALT = keccak256(toHex('decoy salt'))

describe('Settlement: decoys (forced errors)', () => {
  let f: Fixture
  beforeAll(async () => {
    f = await deployFixture({ decoyRateBps: RATE, decoyReward: TOKEN })
  }, 120_000)
  afterAll(() => f?.close())
  const s = () => ({ address: f.book.contracts.settlement, abi: settlementAbi })
  const read = <T>(functionName: string, args: readonly unknown[]) =>
    f.chain.publicClient.readContract({ ...s(), functionName, args } as never) as Promise<T>

  it('places decoys where the one TypeScript definition says', async () => {
    for (const count of [1, 2, 7, 16, 100, 1024]) {
      const decoys = decoyCount(count, RATE)
      expect(decoys).toBe(Math.ceil((count * RATE) / 10_000))
      for (let j = 0; j < decoys; j++) {
        const [position, secret] = await read<[number, Hex]>('decoyPosition', [SALT, j, count])
        expect({ position, secret }).toEqual(decoyPosition(SALT, j, count, RATE))
      }
      await expect(read('decoyPosition', [SALT, decoys, count])).rejects.toThrow(/InvalidInclusionProof/)
    }
    expect(batchLeavesFor(3, RATE) - decoyCount(batchLeavesFor(3, RATE), RATE)).toBe(3)
  })

  it('slashes a verifier that attested a decoy, and a node whose decoy is missing; finalize waits for the reveal', async () => {
    const [, node, lazy, honest, other] = f.senders
    await registerOperator(f, node!, 'inference')
    for (const v of [lazy!, honest!]) await registerOperator(f, v, 'verifier')
    // 8 leaves, 2 decoys: decoy 0 present, decoy 1 missing (a real-looking receipt in its place).
    const receipts = forgedReceipts(8, { node: node!.address, client: other!.address, fee: 1n })
    const [d0, d1] = decoyPositions(SALT, 8, RATE)
    receipts[d0!.position] = { ...receipts[d0!.position]!, outputHash: decoyOutputHashOf(d0!.secret) }
    const { tree } = treeOf(f, receipts, decoyCommitOf(SALT))
    await node!.write({ ...s(), functionName: 'commitBatch', args: [tree.root, 8, 8n, 1, ''] })
    const lazyBitmap = bitmapOf([0, 1, 2, 3, 4, 5, 6, 7], 8)
    // Every leaf is assigned to both (minSampleRateBps 10,000): the honest verifier re-executes decoy 0,
    // finds it wrong and does not attest; a cherry-picked bitmap (the receipt at decoy 1 only) is refused.
    const honestBitmap = bitmapOf([d1!.position], 8)
    await lazy!.write({ ...s(), functionName: 'attest', args: [1n, lazyBitmap, guessedTags(lazyBitmap)] })
    await expectRevert(
      honest!.write({ ...s(), functionName: 'attest', args: [1n, honestBitmap, guessedTags(honestBitmap)] }),
      'SelectionNotCovered',
    )
    // Hidden while verifiers can still attest.
    await expectRevert(node!.write({ ...s(), functionName: 'revealDecoys', args: [1n, SALT, tree.receiptsRoot] }), 'ChallengeWindowOpen')
    await f.chain.increaseTime(101)
    await expectRevert(node!.write({ ...s(), functionName: 'finalize', args: [1n, []] }), 'DecoysNotRevealed', [1n])
    await expectRevert(
      other!.write({ ...s(), functionName: 'revealDecoys', args: [1n, keccak256('0x01'), tree.receiptsRoot] }),
      'DataMismatch',
    )
    await node!.write({ ...s(), functionName: 'revealDecoys', args: [1n, SALT, tree.receiptsRoot] })
    await expectRevert(
      other!.write({ ...s(), functionName: 'slashAttester', args: [1n, d0!.position, lazy!.address, lazyBitmap, guessedTags(lazyBitmap)] }),
      'NotOverturned',
    )
    // Decoy 0 is there: it counts as overturned, so its attester is slashed (the caller takes the bounty).
    await other!.write({ ...s(), functionName: 'proveDecoy', args: [1n, 0, SALT, receipts[d0!.position]!, tree.proof(d0!.position)] })
    await expectRevert(
      other!.write({ ...s(), functionName: 'proveDecoy', args: [1n, 0, SALT, receipts[d0!.position]!, tree.proof(d0!.position)] }),
      'AlreadyOverturned',
    )
    const claimBefore = await read<bigint>('claimable', [other!.address])
    await other!.write({
      ...s(),
      functionName: 'slashAttester',
      args: [1n, d0!.position, lazy!.address, lazyBitmap, guessedTags(lazyBitmap)],
    })
    expect((await read<bigint>('claimable', [other!.address])) - claimBefore).toBe(10n * TOKEN)
    // Decoy 1 is missing: the node is slashed its receipt slash; the honest verifier (it did not attest) is not slashable.
    const stake = async () =>
      (
        await f.chain.publicClient.readContract({
          address: f.book.contracts.nodeRegistry,
          abi: f.contracts.nodeRegistry.abi,
          functionName: 'getOperator',
          args: [node!.address, 1],
        })
      ).staked
    const before = await stake()
    await other!.write({ ...s(), functionName: 'proveDecoy', args: [1n, 1, SALT, receipts[d1!.position]!, tree.proof(d1!.position)] })
    expect(before - (await stake())).toBe(10n * TOKEN)
    await expectRevert(
      other!.write({
        ...s(),
        functionName: 'slashAttester',
        args: [1n, d1!.position, honest!.address, honestBitmap, guessedTags(honestBitmap)],
      }),
      'NotOverturned',
    )
    // Finalize now settles; the slashed attester is not paid.
    await node!.write({ ...s(), functionName: 'finalize', args: [1n, [lazy!.address]] })
  })
})
