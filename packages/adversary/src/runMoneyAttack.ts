import type { Hex } from 'viem'
import type { AttackedNetwork } from './attackedNetwork.js'
import { escrowThief } from './escrowThief.js'
import { modelSwapper, swapperServer } from './modelSwapper.js'
import { type Attacker, type AttackReport, attackerOn, honestStakes, ledger, type MoneyAttack } from './moneyAttacker.js'
import { replayer } from './replayer.js'
import { stakeExhauster } from './stakeExhauster.js'

/**
 * Runs one money attack against a running devnet with the key of an account no role uses, and
 * reports what was tried and what it achieved.
 */
export async function runMoneyAttack(net: AttackedNetwork, strategy: MoneyAttack, key: Hex): Promise<AttackReport> {
  const fromBlock = await net.chain.publicClient.getBlockNumber()
  let attacker: Attacker | undefined
  const swapper = strategy === 'model-swapper' ? await swapperServer(net, () => attacker!) : undefined
  attacker = await attackerOn(net, key, swapper?.url ?? 'http://127.0.0.1:9')
  const before = { honest: await honestStakes(net, attacker), own: await attacker.stake(attacker.address) }
  const steps: AttackReport['steps'] = []
  try {
    if (strategy === 'escrow-thief') await escrowThief(net, attacker, steps)
    else if (strategy === 'replayer') await replayer(net, attacker, steps)
    else if (strategy === 'model-swapper') await modelSwapper(net, attacker, swapper!, steps)
    else await stakeExhauster(net, attacker, steps)
  } finally {
    swapper?.server.close()
  }
  const { stolen, settledTwice } = await ledger(net, attacker.address, fromBlock)
  const honestAfter = await honestStakes(net, attacker)
  return {
    strategy,
    attacker: attacker.address,
    steps,
    stolen,
    honestSlashed: before.honest > honestAfter ? before.honest - honestAfter : 0n,
    attackerSlashed: before.own - (await attacker.stake(attacker.address)),
    settledTwice,
  }
}
