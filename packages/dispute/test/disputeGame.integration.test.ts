import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ContractRevertError } from '@verity/chain'
import {
  BatchStatus,
  buildBatchTree,
  ChallengeStatus,
  GamePhase,
  GameReason,
  hashReceipt,
  identifyModel,
  modelRegistryAbi,
  NO_DECOYS_COMMIT,
  Role,
} from '@verity/contracts'
import { importOnnx, type LoadedModel, loadMnist, mnistImage, quantizeInputs, runQuantized, type Trace } from '@verity/runtime'
import { createPublicClient, createWalletClient, type Hex, http, keccak256, parseEventLogs, toHex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  type Corruption,
  challengerMove,
  corruptTrace,
  defenderMove,
  type GameRecord,
  type Player,
  readGame,
  runGame,
  sendMove,
  traceView,
} from '../src/index.js'
import { commitAndChallenge, type DisputeFixture, disputeFixture, FEE, registerModel, TOKEN } from './disputeFixture.js'

/** Awaits `action` and asserts it reverted with the custom error `errorName`. */
async function expectRevert(action: Promise<unknown>, errorName: string): Promise<void> {
  const error = await action.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error, `expected a revert with ${errorName}`).toBeInstanceOf(ContractRevertError)
  expect((error as ContractRevertError).errorName).toBe(errorName)
}

const data = join(import.meta.dirname, '..', '..', '..', 'data')

/**
 * Whole games on the embedded EVM over mnist-8: the node defends the trace it committed to, the
 * verifier challenges with the honest trace. Every corruption kind loses for the node at the op
 * where it happened; a false challenge loses for the challenger; clocks decide refusals.
 */
describe('DisputeGame over mnist-8', () => {
  let f: DisputeFixture
  let model: LoadedModel
  let inputs: Int16Array[]
  let honest: Trace

  beforeAll(async () => {
    const mnist = loadMnist(join(data, 'datasets', 'mnist'))
    const calibration = Array.from({ length: 8 }, (_, i) => ({ Input3: mnistImage(mnist, 9999 - i) }))
    model = importOnnx(readFileSync(join(data, 'models', 'mnist-8.onnx')), { calibration }).model
    inputs = quantizeInputs(model, { Input3: mnistImage(mnist, 0) })
    honest = runQuantized(model, inputs, { trace: true }).trace!
  })
  beforeEach(async () => {
    f = await disputeFixture()
    await registerModel(f, model)
  })
  afterEach(() => f.close())

  const nodePlayer = (trace: Trace): Player => ({ sender: f.node, decide: (game) => defenderMove(game, traceView(model, trace)) })
  const honestChallenger = (): Player => ({
    sender: f.challenger,
    decide: (game, history) => challengerMove(game, traceView(model, honest), history),
  })

  async function play(claimed: Trace, node: Player = nodePlayer(claimed), challenger: Player = honestChallenger()) {
    const disputed = await commitAndChallenge(f, model, inputs, claimed)
    const record = await runGame({ chain: f.chain, book: f.book, gameId: disputed.gameId, node, challenger })
    return { ...disputed, record }
  }

  const stake = async (who: `0x${string}`, role: number) => (await f.contracts.nodeRegistry.read.getOperator([who, role])).staked

  it.each<[string, Corruption, number]>([
    ['one wrong value deep inside Conv #3, propagated to a plausible output', { kind: 'propagated', op: 3, index: 1234, delta: 700 }, 3],
    ['a wrong final output only', { kind: 'finalOutput', index: 7, delta: 500 }, 7],
    ['a wrong value in MaxPool #2 that the trace does not propagate', { kind: 'traceOnly', op: 2, index: 33, delta: -90 }, 2],
  ])('the node loses with %s, at that op, and is slashed; its client is refunded', async (_, corruption, op) => {
    const claimed = corruptTrace(model, inputs, corruption)
    const nodeStake = await stake(f.node.address, Role.inference)
    const escrow = (await f.contracts.settlement.read.escrowOf([f.client.address])).balance
    const { record, gameId, batchId, receipts, requests } = await play(claimed)
    expect(record.game).toMatchObject({ phase: GamePhase.resolved, nodeLost: true, reason: GameReason.oneStep, opLeaf: op + 1 })
    expect((await f.contracts.settlement.read.getChallenge([gameId])).status).toBe(ChallengeStatus.upheld)
    expect(await f.contracts.settlement.read.isOverturned([batchId, 0])).toBe(true)
    expect(await stake(f.node.address, Role.inference)).toBe(nodeStake - 500n * TOKEN)
    // Nothing was debited yet (money moves only when a voucher is redeemed): the overturned receipt's
    // fee is owed back on the channel instead, and the challenger gets its bond and half the slash.
    expect((await f.contracts.settlement.read.escrowOf([f.client.address])).balance).toBe(escrow)
    expect(await f.contracts.settlement.read.channelCredit([f.client.address, f.node.address])).toBe(FEE)
    expect(await f.contracts.settlement.read.claimable([f.challenger.address])).toBe(10n * TOKEN + 250n * TOKEN)
    // The batch's other receipt still settles: redeeming its voucher (which also covers the overturned
    // request) pays the node one fee, not two.
    await f.chain.increaseTime(101)
    await f.node.write({
      address: f.book.contracts.settlement,
      abi: f.contracts.settlement.abi,
      functionName: 'finalize',
      args: [batchId, []],
    })
    expect((await f.contracts.settlement.read.getBatch([batchId])).status).toBe(BatchStatus.finalized)
    const tree = buildBatchTree(
      receipts.map((r) => hashReceipt(r, { chainId: f.chain.chainId, settlement: f.book.contracts.settlement })),
      NO_DECOYS_COMMIT,
    )
    await f.node.write({
      address: f.book.contracts.settlement,
      abi: f.contracts.settlement.abi,
      functionName: 'redeem',
      args: [
        requests[1]!.request,
        requests[1]!.signature,
        {
          outputHash: receipts[1]!.outputHash,
          fee: receipts[1]!.fee,
          issuedAt: receipts[1]!.issuedAt,
          batchId,
          index: 1,
          proof: tree.proof(1),
        },
      ],
    })
    expect((await f.contracts.settlement.read.escrowOf([f.client.address])).balance).toBe(escrow - FEE)
    expect(await f.contracts.settlement.read.claimable([f.node.address])).toBe(FEE - (FEE * 1000n) / 10_000n)
    logGame(corruption.kind, record)
  })

  it('a false challenge against an honest receipt loses, and its bond pays the node', async () => {
    let flip = 0
    const falseChallenger: Player = {
      sender: f.challenger,
      decide: (game, history) => {
        // Disputes agreed nodes at random; ends with a one-step on whatever value it reached.
        if (game.phase === GamePhase.choose) return { functionName: 'choose', args: [flip++ % 2 === 1] }
        return challengerMove(game, traceView(model, honest), history)
      },
    }
    const nodeStake = await stake(f.node.address, Role.inference)
    const { record, gameId } = await play(honest, nodePlayer(honest), falseChallenger)
    expect(record.game.nodeLost).toBe(false)
    expect((await f.contracts.settlement.read.getChallenge([gameId])).status).toBe(ChallengeStatus.rejected)
    expect(await f.contracts.settlement.read.claimable([f.node.address])).toBe(10n * TOKEN)
    expect(await stake(f.node.address, Role.inference)).toBe(nodeStake)
  })

  it('a squatter registering the honest artifact with a wrong graphRoot (plain viem, its own key) names another id; the honest node wins its dispute', async () => {
    // The attacker: a fresh key funded with gas, and nothing of Verity's but the ABI.
    const key = generatePrivateKey()
    const attacker = createWalletClient({ account: privateKeyToAccount(key), chain: f.chain.viemChain, transport: http(f.chain.rpcUrl) })
    const reader = createPublicClient({ chain: f.chain.viemChain, transport: http(f.chain.rpcUrl) })
    await f.chain
      .walletClient(f.chain.accounts[9]!.privateKey)
      .sendTransaction({ to: attacker.account.address, value: 10n ** 18n })
      .then((hash) => reader.waitForTransactionReceipt({ hash }))
    const honestId = identifyModel(model)
    const registry = { address: f.book.contracts.modelRegistry, abi: modelRegistryAbi } as const
    const squat = async (graphRoot: Hex) => {
      const hash = await attacker.writeContract({
        ...registry,
        functionName: 'register',
        args: ['http://evil/model', honestId.artifactHash, honestId.weightsRoot, graphRoot, honestId.specHash],
      })
      const receipt = await reader.waitForTransactionReceipt({ hash })
      return parseEventLogs({ abi: modelRegistryAbi, logs: receipt.logs, eventName: 'ModelRegistered' })[0]!.args.modelId
    }
    const squatted = await squat(keccak256(toHex('a graph no artifact has')))
    expect(squatted).not.toBe(honestId.modelId)
    // The honest roots name the honest id, which is taken: the squatter cannot replace its record.
    await expect(squat(honestId.graphRoot)).rejects.toThrow('ModelAlreadyRegistered')
    expect(await reader.readContract({ ...registry, functionName: 'getModel', args: [honestId.modelId] })).toMatchObject({
      publisher: f.node.address,
      graphRoot: honestId.graphRoot,
    })
    // A dispute on the honest model: the node's trace is accepted against the registered graph, the node keeps its stake.
    const falseChallenger: Player = {
      sender: f.challenger,
      decide: (game, history) =>
        game.phase === GamePhase.choose
          ? { functionName: 'choose', args: [true] }
          : challengerMove(game, traceView(model, honest), history),
    }
    const nodeStake = await stake(f.node.address, Role.inference)
    const { record } = await play(honest, nodePlayer(honest), falseChallenger)
    expect(record.game.nodeLost).toBe(false)
    expect(record.moves.some((m) => m.functionName === 'postTrace')).toBe(true)
    expect(await stake(f.node.address, Role.inference)).toBe(nodeStake)
  })

  it('a node that will not defend loses on time; a move after the ruling reverts', async () => {
    const claimed = corruptTrace(model, inputs, { kind: 'finalOutput', index: 0, delta: 1 })
    const { record, gameId } = await play(claimed, { sender: f.node, decide: () => undefined })
    expect(record.game).toMatchObject({ nodeLost: true, reason: GameReason.timeout })
    expect(record.moves.map((m) => m.functionName)).toEqual(['timeout'])
    const move = defenderMove({ ...record.game, phase: GamePhase.awaitTrace }, traceView(model, claimed))!
    await expectRevert(sendMove(f.node, f.book, gameId, move), 'GameOver')
    await expectRevert(sendMove(f.challenger, f.book, gameId, { functionName: 'timeout', args: [] }), 'GameOver')
  })

  it('clocks: a timeout before the deadline reverts, a late move reverts, and every turn grants minMoveTime', async () => {
    const claimed = corruptTrace(model, inputs, { kind: 'finalOutput', index: 0, delta: 1 })
    const { gameId } = await commitAndChallenge(f, model, inputs, claimed)
    const timeout = { functionName: 'timeout', args: [] } as const
    await expectRevert(sendMove(f.challenger, f.book, gameId, timeout), 'ClockRunning')
    // The node posts its trace one second before its 30 s clock runs out …
    await f.chain.increaseTime(29)
    await sendMove(f.node, f.book, gameId, defenderMove(await readGame(f.chain, f.book, gameId), traceView(model, claimed))!)
    const game = await readGame(f.chain, f.book, gameId)
    expect(game.nodeClock).toBeLessThanOrEqual(1)
    // … and its next turn (revealing the root's children) still gets minMoveTime (3 s), not what is left.
    expect(game.phase).toBe(GamePhase.reveal)
    await f.chain.increaseTime(1)
    await expectRevert(sendMove(f.challenger, f.book, gameId, timeout), 'ClockRunning')
    await f.chain.increaseTime(3)
    await expectRevert(sendMove(f.node, f.book, gameId, defenderMove(game, traceView(model, claimed))!), 'ClockExpired')
    await sendMove(f.challenger, f.book, gameId, timeout)
    expect(await readGame(f.chain, f.book, gameId)).toMatchObject({ phase: GamePhase.resolved, nodeLost: true, reason: GameReason.timeout })
  })
})

function logGame(label: string, record: GameRecord) {
  const byFunction = new Map<string, bigint>()
  for (const m of record.moves) byFunction.set(m.functionName, (byFunction.get(m.functionName) ?? 0n) + m.gasUsed)
  console.log(`${label}: ${record.moves.length} moves, ${record.totalGas} gas`, Object.fromEntries(byFunction))
}
