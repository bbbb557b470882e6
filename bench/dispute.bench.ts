/**
 * Whole dispute games on the embedded EVM, for mnist-8 and the squeezenet and resnet50 graphs of
 * the ONNX backend tests (calibrated on one seeded random input). For every op kind of a model, the
 * op of that kind with the largest output is given one wrong value — its last, so level 2 walks
 * the deepest path — in a trace the node then defends (a `traceOnly` corruption: the wrong value
 * and a wrong output); the honest verifier challenges and the two play the game to its ruling.
 * Reports moves and gas per game; rewrites docs/dispute-gas.md.
 *
 *   npm run bench:dispute
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { isSumOp, partialSums } from '@verity/contracts'
import { challengerMove, corruptTrace, defenderMove, runGame, traceView } from '@verity/dispute'
import { importOnnx, intOps, type LoadedModel, loadMnist, mnistImage, quantizeInputs, runQuantized, type Trace } from '@verity/runtime'
import { commitAndChallenge, disputeFixture, registerModel, TOKEN } from '../packages/dispute/test/disputeFixture.ts'
import { importLightModel, lightInput } from '../packages/runtime/test/backendTests.ts'

const shared = join(import.meta.dirname, '..', '..', 'shared')
const only = process.argv.slice(2)

type Subject = { name: string; model: LoadedModel; inputs: Int16Array[] }
function subjects(): Subject[] {
  const out: Subject[] = []
  if (only.length === 0 || only.includes('mnist-8')) {
    const mnist = loadMnist(join(shared, 'datasets', 'mnist'))
    const calibration = Array.from({ length: 8 }, (_, i) => ({ Input3: mnistImage(mnist, 9999 - i) }))
    const model = importOnnx(readBytes(join(shared, 'models', 'mnist-8.onnx')), { calibration }).model
    out.push({ name: 'mnist-8', model, inputs: quantizeInputs(model, { Input3: mnistImage(mnist, 0) }) })
  }
  for (const name of ['squeezenet', 'resnet50'] as const) {
    if (only.length > 0 && !only.includes(name)) continue
    const { model, inputName, shape } = importLightModel(name)
    out.push({ name, model, inputs: quantizeInputs(model, { [inputName]: lightInput(shape) }) })
  }
  return out
}

function readBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path))
}

type Row = {
  model: string
  ops: number
  op: string
  outElements: number
  fanIn: string
  moves: number
  gas: bigint
  maxMove: bigint
  challenge: bigint
}
const rows: Row[] = []

for (const { name, model, inputs } of subjects()) {
  const honest = runQuantized(model, inputs, { trace: true }).trace!
  const byKind = new Map<string, number>()
  for (const [i, node] of model.nodes.entries()) {
    const best = byKind.get(node.op)
    const size = (id: number) => model.model.tensors[id]!.shape.reduce((a, b) => a * b, 1)
    if (best === undefined || size(node.output) > size(model.nodes[best]!.output)) byKind.set(node.op, i)
  }
  for (const [kind, op] of byKind) {
    const out = model.model.tensors[model.nodes[op]!.output]!
    const outElements = out.shape.reduce((a, b) => a * b, 1)
    const claimed = corruptTrace(model, inputs, { kind: 'traceOnly', op, index: outElements - 1, delta: 1 })
    const f = await disputeFixture({}, 100_000n * TOKEN)
    await registerModel(f, model)
    const disputed = await commitAndChallenge(f, model, inputs, claimed)
    const record = await runGame({
      chain: f.chain,
      book: f.book,
      gameId: disputed.gameId,
      node: { sender: f.node, decide: (game) => defenderMove(game, traceView(model, claimed)) },
      challenger: { sender: f.challenger, decide: (game, history) => challengerMove(game, traceView(model, honest), history) },
    })
    if (!record.game.nodeLost) throw new Error(`${name} ${kind} #${op}: the honest challenger lost`)
    const fanIn = isSumOp(model, op)
      ? `${partialSums(model, honest, op, outElements - 1).length - 1} terms`
      : `${oneStepReads(model, honest, op, outElements - 1)} reads`
    const row: Row = {
      model: name,
      ops: model.nodes.length,
      op: `${kind} #${op}`,
      outElements,
      fanIn,
      moves: record.moves.length,
      gas: record.totalGas,
      maxMove: record.moves.reduce((m, x) => (x.gasUsed > m ? x.gasUsed : m), 0n),
      challenge: disputed.challengeGas,
    }
    rows.push(row)
    console.log(
      `${name.padEnd(10)} ${row.op.padEnd(22)} out ${String(outElements).padStart(7)}  ${fanIn.padEnd(11)} ${String(row.moves).padStart(3)} moves  ${row.gas.toLocaleString('en-US').padStart(10)} gas  (largest move ${row.maxMove.toLocaleString('en-US')})`,
    )
    await f.close()
  }
}

/** How many values the one-step of output `index` of op `op` reads. */
function oneStepReads(model: LoadedModel, trace: Trace, op: number, index: number): number {
  let reads = 0
  const node = model.nodes[op]!
  intOps[node.op]!.evalOne(node, index, (input, i) => {
    reads++
    const id = node.inputs[input]!
    return Number((trace.tensors.get(id) ?? model.model.constants.get(id))![i])
  })
  return reads
}

const fmt = (n: bigint | number) => n.toLocaleString('en-US')
const lines = [
  '# Dispute game gas',
  '',
  'Generated by `npm run bench:dispute` (bench/dispute.bench.ts) on the embedded EDR chain (Prague rules).',
  'For every op kind of a model, the op of that kind with the largest output gets one wrong value (its',
  'last) in the trace the node defends; the honest verifier challenges and the game is played to its',
  'ruling (the node loses every one). Gas is the sum of all moves of both sides (the `challenge`',
  'transaction that opens the game is listed apart); a dot product (Conv, Dense, MatMulAct) of 32',
  'terms or more is bisected term by term, any other op is recomputed whole by the one-step.',
  '',
  '| model | ops | disputed op | output values | one value | moves | game gas | largest move | challenge tx |',
  '| ----- | --: | ----------- | ------------: | --------- | ----: | -------: | -----------: | -----------: |',
  ...rows.map(
    (r) =>
      `| ${r.model} | ${r.ops} | ${r.op} | ${fmt(r.outElements)} | ${r.fanIn} | ${r.moves} | ${fmt(r.gas)} | ${fmt(r.maxMove)} | ${fmt(r.challenge)} |`,
  ),
  '',
]
const models = [...new Set(rows.map((r) => r.model))]
lines.push('Worst game per model:', '')
for (const m of models) {
  const worst = rows.filter((r) => r.model === m).reduce((a, b) => (b.gas > a.gas ? b : a))
  lines.push(`- ${m}: ${fmt(worst.gas)} gas in ${worst.moves} moves (${worst.op})`)
}
lines.push('')
if (only.length === 0) writeFileSync(join(import.meta.dirname, '..', 'docs', 'dispute-gas.md'), lines.join('\n'))
console.log(lines.slice(-models.length - 3).join('\n'))
