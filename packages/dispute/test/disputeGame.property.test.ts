import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  GamePhase,
  modelGraph,
  ONE_STEP_OPS,
  oneStepParams,
  oneStepVerifierAbi,
  partialSums,
  Role,
  sumReads,
  sumValue,
} from '@verity/contracts'
import {
  importOnnx,
  type LoadedModel,
  loadMnist,
  mnistImage,
  quantizeInputs,
  runQuantized,
  seededRandom,
  type Trace,
  tensorsHash,
} from '@verity/runtime'
import { describe, expect, it } from 'vitest'
import { listNodeTests, prepareNodeTest } from '../../runtime/test/backendTests.js'
import { haveBackendTests } from '../../runtime/test/fixtures.js'
import { type Corruption, challengerMove, corruptTrace, defenderMove, type Player, runGame, traceView } from '../src/index.js'
import { commitAndChallenge, disputeFixture, registerModel, TOKEN } from './disputeFixture.js'

const data = join(import.meta.dirname, '..', '..', '..', 'data')
const SEED = Number(process.env.VERITY_FUZZ_SEED ?? 20_261_122)
const TRIALS = 32

type Subject = { name: string; model: LoadedModel; input(rand: () => number): Int16Array[] }

/** mnist-8, and ONNX backend node tests of many op kinds, each a small real model whose every op the game supports. */
function subjects(rand: () => number): Subject[] {
  const mnist = loadMnist(join(data, 'datasets', 'mnist'))
  const calibration = Array.from({ length: 8 }, (_, i) => ({ Input3: mnistImage(mnist, 9999 - i) }))
  const mnistModel = importOnnx(readFileSync(join(data, 'models', 'mnist-8.onnx')), { calibration }).model
  const out: Subject[] = [
    { name: 'mnist-8', model: mnistModel, input: (r) => quantizeInputs(mnistModel, { Input3: mnistImage(mnist, Math.floor(r() * 1000)) }) },
  ]
  const kinds = [
    ...['Conv', 'Gemm', 'MatMul', 'Relu', 'MaxPool', 'AveragePool', 'Add', 'Mul', 'Softmax', 'Concat', 'Transpose', 'LeakyRelu'],
    // The ops language models brought (Norm from RMSNormalization: the LayerNormalization tests ask for its extra outputs).
    ...['Gather', 'Slice', 'Tile', 'Expand', 'RMSNormalization'],
  ]
  // The node tests are in ../shared (CI has them); without them the games run on mnist-8 alone.
  const tests = withBackendTests ? listNodeTests().filter((t) => kinds.includes(t.opType)) : []
  const seen = new Set<string>()
  for (const test of tests.sort(() => rand() - 0.5)) {
    if (seen.has(test.opType)) continue
    const prepared = prepareNodeTest(test)
    if (!prepared.ok) continue
    const { model } = prepared.imported
    if (!model.nodes.every((n) => ONE_STEP_OPS[n.op] !== undefined)) continue
    try {
      modelGraph(model)
    } catch {
      continue
    }
    const data = Object.entries(prepared.data)
    seen.add(test.opType)
    out.push({
      name: test.name,
      model,
      // The test's own data, each value moved by up to ±25 % so every trial runs a fresh input.
      input: (r) =>
        quantizeInputs(
          model,
          Object.fromEntries(data.map(([k, t]) => [k, { shape: t.shape, data: Float64Array.from(t.data, (v) => v * (0.75 + 0.5 * r())) }])),
        ),
    })
  }
  return out
}

/**
 * The honest side wins every game: over random models (mnist-8 and real single-op ONNX models),
 * random inputs and a random corruption of the node's run — any op, any value, propagated or
 * trace-only or final-output-only — with folds bisected or recomputed whole, the honest challenger
 * wins and the node is slashed; and a
 * challenger disputing a correct receipt at random loses, the honest node untouched.
 */
const withBackendTests = haveBackendTests('the dispute games on ONNX backend node tests (mnist-8 games still run)')

describe('property: the honest side wins every dispute game', () => {
  it(`${TRIALS} random games (seed ${SEED}; VERITY_FUZZ_SEED replays another)`, async () => {
    const rand = seededRandom(SEED)
    const pool = subjects(rand)
    expect(pool.length).toBeGreaterThanOrEqual(withBackendTests ? 13 : 1)
    const outcomes: string[] = []
    for (let trial = 0; trial < TRIALS; trial++) {
      const subject = pool[Math.floor(rand() * pool.length)]!
      const { model } = subject
      const inputs = subject.input(rand)
      const honest = runQuantized(model, inputs, { trace: true }).trace!
      const op = Math.floor(rand() * model.nodes.length)
      const size = honest.tensors.get(model.nodes[op]!.output)!.length
      const delta = (1 + Math.floor(rand() * 300)) * (rand() < 0.5 ? -1 : 1)
      const kinds = ['propagated', 'finalOutput', 'traceOnly', 'falseChallenge'] as const
      const kind = kinds[Math.floor(rand() * kinds.length)]!
      const corruption: Corruption | undefined =
        kind === 'falseChallenge'
          ? undefined
          : kind === 'finalOutput'
            ? { kind, index: Math.floor(rand() * 1e6), delta }
            : { kind, op, index: Math.floor(rand() * size), delta }
      let claimed: Trace = corruption ? corruptTrace(model, inputs, corruption) : honest
      const outputOf = (t: Trace) => tensorsHash(model.model.outputs.map((id) => t.tensors.get(id)!))
      // A corruption the model masks (same output) leaves a correct receipt: dispute it falsely instead.
      const cheating = outputOf(claimed) !== outputOf(honest)
      if (!cheating) claimed = honest
      // Half the games bisect every fold (dot product, softmax) step by step, however short.
      const foldFrom = rand() < 0.5 ? 1 : 32
      const f = await disputeFixture()
      try {
        await registerModel(f, model)
        const stake = async () => (await f.contracts.nodeRegistry.read.getOperator([f.node.address, Role.inference])).staked
        const before = await stake()
        const { gameId } = await commitAndChallenge(f, model, inputs, claimed)
        const node: Player = { sender: f.node, decide: (game) => defenderMove(game, traceView(model, claimed)) }
        const challenger: Player = {
          sender: f.challenger,
          decide: (game, history) => {
            // Against a correct receipt the challenger has nothing true to say: it picks sides at random.
            if (!cheating && game.phase === GamePhase.choose) return { functionName: 'choose', args: [rand() < 0.5] }
            if (!cheating && game.phase === GamePhase.sumChoose) return { functionName: 'chooseSum', args: [rand() < 0.5] }
            return challengerMove(game, traceView(model, honest), history, { foldFrom })
          },
        }
        const record = await runGame({ chain: f.chain, book: f.book, gameId, node, challenger })
        const label = `trial ${trial}: ${subject.name}, ${cheating ? JSON.stringify(corruption) : 'false challenge'}`
        expect(record.game.nodeLost, label).toBe(cheating)
        expect(await stake(), label).toBe(cheating ? before - 500n * TOKEN : before)
        outcomes.push(`${cheating ? 'cheat' : 'false'}:${record.game.reason}`)
      } finally {
        await f.close()
      }
    }
    // Both kinds of game were played.
    expect(outcomes.some((o) => o.startsWith('cheat'))).toBe(true)
    expect(outcomes.some((o) => o.startsWith('false'))).toBe(true)
  })

  it.skipIf(!withBackendTests)(
    'every fold kind (Conv, Dense, MatMulAct, Softmax, Norm) matches its op on-chain and, bisected step by step, catches a wrong value',
    async () => {
      const rand = seededRandom(SEED + 1)
      const pool = subjects(rand)
      const seen = new Set<string>()
      for (const { name, model, input } of pool) {
        for (const [op, node] of model.nodes.entries()) {
          if (!['Conv', 'Dense', 'MatMulAct', 'Softmax', 'Norm'].includes(node.op) || seen.has(node.op)) continue
          seen.add(node.op)
          const inputs = input(rand)
          const honest = runQuantized(model, inputs, { trace: true }).trace!
          const size = honest.tensors.get(node.output)!.length
          const claimed = corruptTrace(model, inputs, { kind: 'traceOnly', op, index: size - 1, delta: 3 })
          const f = await disputeFixture()
          try {
            // The fold agrees with the op, in TypeScript and on-chain: its last state finishes into the
            // value the runtime computed, and every step the contract evaluates gives the next state.
            const acc = partialSums(model, honest, op, size - 1)
            expect(sumValue(model, honest, op, size - 1, acc.at(-1)!)).toBe(BigInt(honest.tensors.get(node.output)![size - 1]!))
            const verifier = { address: f.book.contracts.oneStepVerifier, abi: oneStepVerifierAbi } as const
            const { op: opCode, params } = oneStepParams(model, op)
            const finish = sumReads(model, honest, op, size - 1, 'finish', acc.at(-1)!)
            expect(
              await f.chain.publicClient.readContract({
                ...verifier,
                functionName: 'evaluateFinish',
                args: [opCode, params, BigInt(size - 1), acc.at(-1)!, finish],
              }),
            ).toBe(BigInt(honest.tensors.get(node.output)![size - 1]!))
            for (const i of [0, 1, Math.floor((acc.length - 1) / 2), acc.length - 2]) {
              const reads = sumReads(model, honest, op, size - 1, i, acc[i]!)
              const next = await f.chain.publicClient.readContract({
                ...verifier,
                functionName: 'evaluateTerm',
                args: [opCode, params, BigInt(size - 1), BigInt(i), acc[i]!, reads],
              })
              expect(next, `${node.op} step ${i}`).toBe(acc[i + 1])
            }
            await registerModel(f, model)
            const { gameId } = await commitAndChallenge(f, model, inputs, claimed)
            const record = await runGame({
              chain: f.chain,
              book: f.book,
              gameId,
              node: { sender: f.node, decide: (game) => defenderMove(game, traceView(model, claimed)) },
              challenger: {
                sender: f.challenger,
                decide: (game, history) => challengerMove(game, traceView(model, honest), history, { foldFrom: 1 }),
              },
            })
            const label = `${name}: ${node.op} #${op}`
            expect(record.game.nodeLost, label).toBe(true)
            expect(
              record.moves.map((m) => m.functionName),
              label,
            ).toEqual(expect.arrayContaining(['disputeSum', 'postSum', 'proveTerm']))
          } finally {
            await f.close()
          }
        }
      }
      expect([...seen].sort()).toEqual(['Conv', 'Dense', 'MatMulAct', 'Norm', 'Softmax'])
    },
  )
})
