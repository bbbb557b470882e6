/**
 * Whole dispute games on the embedded EVM, for mnist-8, the squeezenet and resnet50 graphs of the
 * ONNX backend tests (calibrated on one seeded random input) and, when ../shared has it, the
 * stories260K language model (context 128, int16 weights, the float model's greedy story as input). For every op kind of a model, the
 * op of that kind with the largest output is given one wrong value — its last, so level 2 walks
 * the deepest path — in a trace the node then defends (a `traceOnly` corruption: the wrong value
 * and a wrong output); the honest verifier challenges and the two play the game to its ruling.
 * Reports moves and gas per game; rewrites docs/dispute-gas.md.
 *
 *   npm run bench:dispute                  (all; rewrites the doc)
 *   npm run bench:dispute -- stories260K   (one model; prints only)
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { isSumOp, ONE_STEP_OPS, oneStepProofCase, oneStepVerifierAbi, partialSums } from '@verity/contracts'
import { challengerMove, corruptTrace, defenderMove, runGame, traceView } from '@verity/dispute'
import { importOnnx, intOps, type LoadedModel, loadMnist, mnistImage, quantizeInputs, run, runQuantized, type Trace } from '@verity/runtime'
import { commitAndChallenge, disputeFixture, registerModel, TOKEN } from '../packages/dispute/test/disputeFixture.ts'
import { importLightModel, lightInput, listNodeTests, prepareNodeTest } from '../packages/runtime/test/backendTests.ts'
import { expected, importStories, languageModelsPresent, modelsDir } from '../packages/runtime/test/languageModelFixtures.ts'

const data = join(import.meta.dirname, '..', 'data')
const only = process.argv.slice(2)

type Subject = { name: string; model: LoadedModel; inputs: Int16Array[] }
function subjects(): Subject[] {
  const out: Subject[] = []
  if (only.length === 0 || only.includes('mnist-8')) out.push(mnistSubject())
  for (const name of ['squeezenet', 'resnet50'] as const) {
    if (only.length > 0 && !only.includes(name)) continue
    const { model, inputName, shape } = importLightModel(name)
    out.push({ name, model, inputs: quantizeInputs(model, { [inputName]: lightInput(shape) }) })
  }
  if (only.length === 0 || only.includes('stories260K')) {
    const stories = storiesSubject()
    if (stories) out.push(stories)
  }
  return out
}

function storiesSubject(): Subject | undefined {
  if (!languageModelsPresent) {
    console.log(`skipped stories260K: ${modelsDir} has no language models`)
    return undefined
  }
  const { lm } = importStories(128)
  const tokens = new Int16Array(lm.context)
  tokens.set(expected().stories260K.greedy_ids.slice(0, lm.context))
  return { name: 'stories260K', model: lm.model, inputs: [tokens] }
}

function mnistSubject(): Subject {
  const mnist = loadMnist(join(data, 'datasets', 'mnist'))
  const calibration = Array.from({ length: 8 }, (_, i) => ({ Input3: mnistImage(mnist, 9999 - i) }))
  const model = importOnnx(readBytes(join(data, 'models', 'mnist-8.onnx')), { calibration }).model
  return { name: 'mnist-8', model, inputs: quantizeInputs(model, { Input3: mnistImage(mnist, 0) }) }
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
      ? `${partialSums(model, honest, op, outElements - 1).length - 1} ${kind === 'Softmax' || kind === 'Norm' ? 'steps' : 'terms'}`
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

// One value of each op type, alone: OneStepVerifier.evaluate on value 0 of the first ONNX backend node
// test (or mnist-8 node) of that type, every read opened against its tensor (what `prove` pays inside).
type OpRow = { op: string; source: string; reads: number; gas: bigint }
const opRows: OpRow[] = []
if (only.length === 0 || only.includes('ops')) {
  const f = await disputeFixture()
  const seenOps = new Set<string>()
  const measure = async (source: string, model: LoadedModel, trace: Trace) => {
    for (const [op, node] of model.nodes.entries()) {
      if (seenOps.has(node.op) || ONE_STEP_OPS[node.op] === undefined) continue
      seenOps.add(node.op)
      const c = oneStepProofCase(model, trace, op, 0)
      const reads = { inputs: c.inputs, tape: c.tape, openingOf: c.openingOf, openings: c.openings }
      const gas = await f.chain.publicClient.estimateContractGas({
        address: f.book.contracts.oneStepVerifier,
        abi: oneStepVerifierAbi,
        functionName: 'evaluate',
        args: [c.op, c.params, c.outIndex, reads],
      })
      opRows.push({ op: node.op, source, reads: c.tape.length, gas })
    }
  }
  const mnist = mnistSubject()
  await measure(mnist.name, mnist.model, runQuantized(mnist.model, mnist.inputs, { trace: true }).trace!)
  // MaskFill (a constant mask) only comes from a language model.
  const stories = storiesSubject()
  if (stories) await measure(stories.name, stories.model, runQuantized(stories.model, stories.inputs, { trace: true }).trace!)
  for (const test of listNodeTests()) {
    const prepared = prepareNodeTest(test)
    if (!prepared.ok || prepared.imported.model.nodes.every((n) => seenOps.has(n.op) || ONE_STEP_OPS[n.op] === undefined)) continue
    const { model } = prepared.imported
    const data = Object.fromEntries(Object.entries(prepared.data).map(([k, t]) => [k, { shape: t.shape, data: t.data }]))
    await measure(test.name, model, run(model, data, { trace: true }).trace!)
    if (seenOps.size === Object.keys(ONE_STEP_OPS).length) break
  }
  await f.close()
  opRows.sort((a, b) => ONE_STEP_OPS[a.op]! - ONE_STEP_OPS[b.op]!)
  for (const r of opRows)
    console.log(`one step  ${r.op.padEnd(14)} ${String(r.reads).padStart(5)} reads  ${fmt(r.gas).padStart(10)} gas  (${r.source})`)
}

const lines = [
  '# Dispute game gas',
  '',
  'Generated by `npm run bench:dispute` (bench/dispute.bench.ts) on the embedded EDR chain (Prague rules).',
  'For every op kind of a model, the op of that kind with the largest output gets one wrong value (its',
  'last) in the trace the node defends; the honest verifier challenges and the game is played to its',
  'ruling (the node loses every one). Gas is the sum of all moves of both sides (the `challenge`',
  'transaction that opens the game is listed apart); a fold of 32 steps or more — a dot product (Conv,',
  'Dense, MatMulAct) term by term, a softmax as its running max then its running sum, a Norm as its',
  'running (Σx, Σx²) — is bisected step by step; any other op is recomputed whole by the one-step.',
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
lines.push(
  '',
  '## One value alone, per op type',
  '',
  '`OneStepVerifier.evaluate` (estimated gas of the call) on value 0 of the first mnist-8 node, stories260K node or ONNX backend node test of each',
  'op type, every read opened against its tensor by a Merkle proof.',
  '',
  '| op | source | reads | gas |',
  '| -- | ------ | ----: | --: |',
  ...opRows.map((r) => `| ${r.op} | ${r.source} | ${r.reads} | ${fmt(r.gas)} |`),
  '',
)
if (only.length === 0) writeFileSync(join(import.meta.dirname, '..', 'docs', 'dispute-gas.md'), lines.join('\n'))
console.log(lines.slice(-models.length - 3).join('\n'))
