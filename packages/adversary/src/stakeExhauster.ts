import { keccak256, toHex } from 'viem'
import type { AttackedNetwork } from './attackedNetwork.js'
import type { Attacker, AttackReport } from './moneyAttacker.js'

/** stake-exhauster: commits more receipts than its stake can slash in full. */
export async function stakeExhauster(net: AttackedNetwork, attacker: Attacker, steps: AttackReport['steps']): Promise<void> {
  const stake = await attacker.stake(attacker.address)
  const capacity = Number(stake / net.book.params.slashAmount)
  const over = await attacker.settlement('commitBatch', [
    keccak256(toHex('over')),
    capacity + 1,
    0n,
    attacker.nextSequence(),
    'http://127.0.0.1:9/x',
  ])
  steps.push({
    tried: `commit ${capacity + 1} receipts on a stake that can slash ${capacity}`,
    outcome: over.ok ? 'COMMITTED' : `refused: ${over.error}`,
  })
  // Its sequence number was not used: commit up to the limit, then one more.
  const sequence = over.ok ? attacker.nextSequence() : attacker.nextSequence() - 1
  const full = await attacker.settlement('commitBatch', [keccak256(toHex('full')), capacity, 0n, sequence, 'http://127.0.0.1:9/x'])
  const more = await attacker.settlement('commitBatch', [keccak256(toHex('more')), 1, 0n, sequence + 1, 'http://127.0.0.1:9/x'])
  steps.push({
    tried: `commit ${capacity} receipts, then 1 more`,
    outcome: `${full.ok ? 'first committed' : `first refused: ${full.error}`}; ${more.ok ? 'second COMMITTED' : `second refused: ${more.error}`}`,
  })
}
