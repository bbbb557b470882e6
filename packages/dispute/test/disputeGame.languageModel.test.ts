import { Role } from '@verity/contracts'
import { runQuantized } from '@verity/runtime'
import { describe, expect, it } from 'vitest'
import { expected, importStories, languageModelsPresent, modelsDir } from '../../runtime/test/languageModelFixtures.js'
import { challengerMove, corruptTrace, defenderMove, runGame, traceView } from '../src/index.js'
import { commitAndChallenge, disputeFixture, registerModel, TOKEN } from './disputeFixture.js'

if (!languageModelsPresent) console.log(`skipped the dispute game over stories260K: ${modelsDir} has no language models`)

/**
 * A dispute game over a real language model: stories260K (Llama-2, 278 integer ops at context 32)
 * registered with its graph, a node that computes one value of the final RMSNorm wrong (and lets it
 * propagate into the logits), and the honest verifier's challenge. The game descends the trace to
 * that op, bisects the Norm's 64-step fold and rules on one step. (bench/dispute.bench.ts plays the
 * heavier variants.)
 */
describe.skipIf(!languageModelsPresent)('DisputeGame over stories260K', () => {
  it('a wrong value deep in the graph (the final RMSNorm) loses for the node, bisected down to one step of its fold', async () => {
    const model = importStories(32).lm.model
    const inputs = [Int16Array.from(expected().stories260K.greedy_ids.slice(0, 32))]
    const honest = runQuantized(model, inputs, { trace: true }).trace!
    const op = model.nodes.findLastIndex((n) => n.op === 'Norm')
    expect(op).toBeGreaterThan(model.nodes.length - 5)
    const index = 20 * 64 + 5
    const claimed = corruptTrace(model, inputs, { kind: 'propagated', op, index, delta: 7 })
    const f = await disputeFixture()
    try {
      await registerModel(f, model)
      const stake = async () => (await f.contracts.nodeRegistry.read.getOperator([f.node.address, Role.inference])).staked
      const before = await stake()
      const { gameId } = await commitAndChallenge(f, model, inputs, claimed)
      const record = await runGame({
        chain: f.chain,
        book: f.book,
        gameId,
        node: { sender: f.node, decide: (game) => defenderMove(game, traceView(model, claimed)) },
        challenger: { sender: f.challenger, decide: (game, history) => challengerMove(game, traceView(model, honest), history) },
      })
      console.log(`stories260K game: ${record.moves.length} moves, ${record.totalGas} gas`)
      expect(record.game.nodeLost).toBe(true)
      expect(record.game.opLeaf - record.game.inputCount).toBe(op)
      expect(record.game.outIndex).toBe(index)
      expect(record.moves.map((m) => m.functionName)).toEqual(expect.arrayContaining(['selectOp', 'disputeSum', 'postSum', 'proveTerm']))
      expect(await stake()).toBe(before - 500n * TOKEN)
    } finally {
      await f.close()
    }
  })
})
