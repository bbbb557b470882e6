import { attesterPayEqual, batchLeavesFor, exposureAllows, redeemSplit, restitution, slashSplit } from '@verity/contracts'
import { type SamplingPolicy, samplingRate, selectionDraws } from '@verity/node'
import { type CostProfile, type Environment, GAS, type ProtocolParams, unitCosts } from './params.js'
import { createRandom } from './random.js'
import { cheatRateOf, type NodeStrategy, strategyName, type VerifierStrategy } from './strategies.js'

/** Money units per fee: protocol amounts are bigints in these units, moved by the contracts' own rules. */
export const UNITS_PER_FEE = 1_000_000_000n

export type SimulationConfig = {
  seed: number
  params: ProtocolParams
  env: Environment
  profile: CostProfile
  nodes: readonly NodeStrategy[]
  verifiers: readonly VerifierStrategy[]
  /** Real receipts served network-wide, spread evenly over the nodes and the hours. */
  inferences: number
  hours: number
  /** Commits each node has made before the run (0: a new network; ≥ maturityCommits: every node at its floor rate). */
  initialCommits?: number
}

export type ActorResult = {
  strategy: string
  /** Net in USD over the run: protocol money (pay, fees, rewards, slashes) minus compute and gas. */
  profitUsd: number
  profitPerHourUsd: number
  gas: number
  executions: number
}

export type NodeResult = ActorResult & {
  /** Gas verifiers spent on this node's batches (attestations, challenges, slashing lazy attesters). */
  verifierGas: number
  cheatRate: number
  served: number
  cheats: number
  overturned: number
  refusedBatches: number
  /** Seconds from the first cheat to the first overturned receipt (null: never caught / never cheated). */
  detectionLatency: number | null
  finalSamplingRate: number
}

export type VerifierResult = ActorResult & { slashes: number; decoysCaught: number; cheatsCaught: number }

export type SimulationResult = {
  nodes: NodeResult[]
  verifiers: VerifierResult[]
  /** Re-executions by verifiers ÷ receipts served (= verification compute ÷ inference compute). */
  verificationShare: number
  /** The same over honest nodes' receipts only: what verification costs a network without fraud. */
  honestVerificationShare: number
  /** Gas per honest node's receipt: its own settlement plus the verifiers' gas on its batches. */
  honestGasPerInference: number
  gasPerInference: number
  inferences: number
  batches: number
}

type Account = { money: bigint; costUsd: number; gas: number; executions: number }
const account = (): Account => ({ money: 0n, costUsd: 0, gas: 0, executions: 0 })
const units = (fees: number): bigint => BigInt(Math.round(fees * Number(UNITS_PER_FEE)))

const shareOf = (nodes: readonly NodeResult[]) =>
  nodes.reduce((a, x) => a + x.executions, 0) /
  Math.max(
    1,
    nodes.reduce((a, x) => a + x.served, 0),
  )

const honestGas = (nodes: readonly NodeResult[]) =>
  nodes.reduce((a, x) => a + x.gas + x.verifierGas, 0) /
  Math.max(
    1,
    nodes.reduce((a, x) => a + x.served, 0),
  )

export function policyOf(params: ProtocolParams): SamplingPolicy {
  return {
    baseRateBps: params.baseRateBps,
    newNodeRateBps: params.newNodeRateBps,
    maturityCommits: params.maturityCommits,
    overturnedRateBps: params.overturnedRateBps,
    maxRateBps: params.maxRateBps,
    receiptSlash: units(params.receiptSlashFees),
  }
}

/**
 * Runs the agent-based simulation. Each node commits batches of `env.batchSize` real receipts with
 * decoys at `decoyRateBps` (as many as `batchLeavesFor` adds, one per segment); each verifier is
 * assigned what Settlement draws for it — `selectionDraws(samplingRateBps(record), V)` leaves, uniform
 * with replacement — and the assignment rule of `attest` binds every strategy; the exposure check,
 * the slash and bounty split, the refund and the attesters' pay are `@verity/contracts`' settlement
 * rules. Per-batch cheat counts are drawn in aggregate (exact binomials), so millions of inferences take
 * well under a second per model.
 */
export function simulate(config: SimulationConfig): SimulationResult {
  const { params, env, profile } = config
  const rand = createRandom(config.seed)
  const unit = unitCosts(profile, env)
  const policy = policyOf(params)
  const V = config.verifiers.length
  const n = env.batchSize
  const perNode = Math.floor(config.inferences / config.nodes.length)
  const batchesPerNode = Math.max(1, Math.ceil(perNode / n))
  const seconds = config.hours * 3600
  const batchSeconds = seconds / batchesPerNode
  const feeUnits = UNITS_PER_FEE
  const receiptSlash = units(params.receiptSlashFees)
  const attesterSlash = units(params.attesterSlashFees)
  const decoyReward = units(params.decoyRewardFees)
  const bond = units(params.challengeBondFees)
  const bounty = BigInt(params.bountyBps)
  const share = BigInt(params.verifierShareBps)
  const d = params.decoyRateBps / 10_000
  const gasUsd = unit.gasUsd
  const gameHalf = profile.disputeGameGas / 2
  const usdPerUnit = unit.fee / Number(UNITS_PER_FEE)

  const vAcc = config.verifiers.map(account)
  const vStake = config.verifiers.map(() => attesterSlash * 1_000n)
  const vSlashes = config.verifiers.map(() => 0)
  const vDecoys = config.verifiers.map(() => 0)
  const vCheats = config.verifiers.map(() => 0)
  const detectors = config.verifiers.flatMap((s, i) => (s === 'honest' || s === 'falseChallenger' ? [i] : []))
  let totalExecutions = 0
  let totalGas = 0
  let served = 0
  let batches = 0

  const nodes: NodeResult[] = config.nodes.map((strategy) => {
    const acc = account()
    const rate = cheatRateOf(strategy)
    // Receipts a node keeps open: a window's worth plus the batch being filled.
    const need = BigInt(Math.ceil((params.challengeWindow / batchSeconds + 1) * n * (1 + d) + 16)) * receiptSlash
    // A node past its stake has enough for one batch, and `stakeCoverage` of what it serves in a window.
    const oneBatch = BigInt(Math.ceil(n * (1 + 3 * d) + 16)) * receiptSlash
    const partial = strategy.kind === 'pastStake' ? (need * BigInt(Math.round(strategy.stakeCoverage * 1000))) / 1000n : 0n
    let stake = strategy.kind === 'pastStake' ? (partial > oneBatch ? partial : oneBatch) : need * 3n
    const open: { at: number; count: number }[] = []
    let openReceipts = 0
    let commits = config.initialCommits ?? 0
    let overturned = 0
    const pending: number[] = []
    let pot = 0n
    let cheats = 0
    let overturnedTotal = 0
    let refused = 0
    let firstCheat: number | null = null
    let firstCatch: number | null = null
    let lastRate = params.baseRateBps / 10_000
    let verifierGas = 0
    const gain = strategy.kind === 'cheat' && strategy.target === 'inputs' ? (strategy.externalGainFees ?? 0) : 0
    const colludes = strategy.kind === 'collude'
    const withholds = strategy.kind === 'withhold'

    for (let b = 0; b < batchesPerNode; b++) {
      const t = (b + 1) * batchSeconds
      while (open.length > 0 && open[0]!.at <= t) openReceipts -= open.shift()!.count
      for (let i = pending.length - 1; i >= 0; i--) {
        if (pending[i]! <= t) {
          overturned++
          pending.splice(i, 1)
        }
      }
      // Decoys among the leaves: the shared rule, ceil(leaves × decoyRateBps / 10,000) of them.
      const leaves = batchLeavesFor(n, params.decoyRateBps)
      const decoys = leaves - n
      const c = rand.binomial(n, rate)
      acc.costUsd += (n - c) * unit.compute
      acc.money += units(gain) * BigInt(c)
      served += n
      if (!exposureAllows({ openReceipts: BigInt(openReceipts), count: BigInt(leaves), receiptSlash, stake })) {
        refused++
        continue
      }
      batches++
      commits++
      openReceipts += leaves
      open.push({ at: t + params.challengeWindow, count: leaves })
      acc.gas += GAS.commitAndFinalize + GAS.redeemPerBatch
      if (c > 0) {
        cheats += c
        firstCheat ??= t - batchSeconds / 2
      }
      const P = samplingRate({ stake, openReceipts, commits, overturned }, policy)
      lastRate = P
      const assignment = { rateBps: Math.round(P * 10_000), verifiers: V }
      // Leaf numbers below: cheats [0, c), decoys [c, c + decoys), honest receipts after (positions do not matter).

      const verifierGasBefore = vAcc.reduce((sum, x) => sum + x.gas, 0)
      const bits: bigint[] = []
      const slashed: boolean[] = []
      const attesters: number[] = []
      const cheatFinders = new Map<number, number[]>()
      const decoyFinders = new Map<number, number[]>()
      const lazySampled: { v: number; cheats: number[]; decoys: number; real: number }[] = []
      for (let v = 0; v < V; v++) {
        const role = config.verifiers[v]!
        // Its assignment, as Settlement draws it: `selectionDraws` leaves, uniform with replacement.
        const { draws } = selectionDraws(assignment, leaves, BigInt(Math.floor(rand.next() * 2 ** 52)))
        const drawn = new Set<number>()
        for (let k = 0; k < draws; k++) drawn.add(rand.int(leaves))
        const sc: number[] = []
        const sd: number[] = []
        let honestSampled = 0
        for (const i of drawn) {
          if (i < c) sc.push(i)
          else if (i < c + decoys) sd.push(i - c)
          else honestSampled++
        }
        const colluding = role === 'colluding' && colludes
        if (role === 'carefulLazy') {
          // Its assignment must be attested whole but for the leaves it challenged itself: it challenges
          // the decoys it tells apart (unexecuted; the node concedes and pays it the reward) and attests
          // the real receipts unexecuted, cheats included.
          for (const i of sd) decoyFinders.set(i, [...(decoyFinders.get(i) ?? []), v])
          const k = honestSampled + sc.length
          if (k > 0) {
            attesters.push(v)
            bits.push(BigInt(k))
            slashed.push(false)
            lazySampled.push({ v, cheats: sc, decoys: 0, real: k })
          }
          continue
        }
        if (role === 'lazy') {
          const k = honestSampled + sc.length + sd.length
          if (k > 0) {
            attesters.push(v)
            bits.push(BigInt(k))
            slashed.push(false)
            lazySampled.push({ v, cheats: sc, decoys: sd.length, real: honestSampled + sc.length })
          }
          continue
        }
        if (colluding) {
          // Knows which leaves are real and correct: attests its assignment (Settlement refuses less)
          // when it holds no cheat and no decoy — at no risk, for the pool — else nothing.
          const claimed = params.selectedBitsOnly ? honestSampled : n - c
          if (claimed > 0 && honestSampled > 0 && sc.length === 0 && sd.length === 0) {
            attesters.push(v)
            bits.push(BigInt(claimed))
            slashed.push(false)
          }
          continue
        }
        const executed = honestSampled + sc.length + sd.length
        vAcc[v]!.executions += executed
        acc.executions += executed
        vAcc[v]!.costUsd += executed * unit.compute
        for (const i of sc) cheatFinders.set(i, [...(cheatFinders.get(i) ?? []), v])
        for (const i of sd) decoyFinders.set(i, [...(decoyFinders.get(i) ?? []), v])
        let attested = honestSampled
        if (role === 'falseChallenger' && honestSampled > 0) {
          attested--
          vAcc[v]!.gas += GAS.challenge + gameHalf
          vAcc[v]!.money -= bond
          acc.money += bond
          acc.gas += gameHalf
        }
        if (attested > 0) {
          attesters.push(v)
          bits.push(BigInt(attested))
          slashed.push(false)
        }
      }
      // Cheats found: one challenge each (the others see it open), the node loses.
      const overturnedHere = new Set<number>()
      for (const [i, finders] of cheatFinders) {
        const v = finders[rand.int(finders.length)]!
        overturnedHere.add(i)
        vCheats[v]!++
        vAcc[v]!.gas += withholds ? GAS.challengeData + GAS.expireData : GAS.challenge + gameHalf
        const split = slashSplit(receiptSlash, stake, bounty)
        stake -= split.slashed
        vAcc[v]!.money += split.bounty
        const refund = restitution({ fee: feeUnits, refundable: feeUnits, nodeClaimable: 0n, nodeStake: stake })
        stake -= refund.fromStake
        // The fee is refunded (from stake: the node claims its earnings as they come) — as far as the stake allows.
        acc.money -= split.slashed + refund.refund + refund.credit
        overturnedTotal++
        pending.push(t + (withholds ? params.dataResponseTime : env.disputeSeconds))
        firstCatch ??= t + (withholds ? params.dataResponseTime : env.disputeSeconds)
      }
      // Decoys found: the first finder challenges, the node concedes and pays the reward.
      for (const [, finders] of decoyFinders) {
        const v = finders[rand.int(finders.length)]!
        vDecoys[v]!++
        vAcc[v]!.gas += GAS.challenge
        vAcc[v]!.money += decoyReward
        acc.money -= decoyReward
        acc.gas += GAS.decoyConcede
      }
      // Lazy attesters: slashed once per batch if their sample held a decoy or an overturned receipt —
      // else, if it held a real receipt (whose tag it guessed), when the node audits the tags
      // (`tagPolicing`): the node refutes the attestation and earns the bounty.
      for (const lazy of lazySampled) {
        const caught = lazy.decoys > 0 || lazy.cheats.some((i) => overturnedHere.has(i))
        const refuted = !caught && lazy.real > 0 && rand.next() < env.tagPolicing
        if (!caught && !refuted) continue
        const split = slashSplit(attesterSlash, vStake[lazy.v]!, bounty)
        vStake[lazy.v]! -= split.slashed
        vAcc[lazy.v]!.money -= split.slashed
        vSlashes[lazy.v]!++
        slashed[attesters.indexOf(lazy.v)] = true
        if (refuted) {
          acc.money += split.bounty
          acc.gas += GAS.refuteAttestation
          continue
        }
        const by = detectors.length > 0 ? detectors[rand.int(detectors.length)]! : lazy.v
        vAcc[by]!.money += split.bounty
        vAcc[by]!.gas += GAS.slashAttester
      }
      // Money of the batch: fees redeemed (verifiers' share to the pot), attesters paid equal shares (as Settlement does).
      const fees = BigInt(n) * feeUnits
      const split = redeemSplit(fees, share)
      acc.money += split.toNode
      pot += split.toVerifiers
      const paid = attesterPayEqual({ feeTotal: fees, verifierShareBps: share, pot, slashed })
      pot -= paid.paid
      // The first attestation of a batch also stores its seed: whichever attester's transaction lands first.
      const anchoring = attesters.length > 0 ? rand.int(attesters.length) : -1
      attesters.forEach((v, k) => {
        vAcc[v]!.money += paid.pay[k]!
        vAcc[v]!.gas += GAS.attest + (k === anchoring ? GAS.anchorSeed : 0)
      })
      verifierGas += vAcc.reduce((sum, x) => sum + x.gas, 0) - verifierGasBefore
    }
    acc.costUsd += acc.gas * gasUsd
    totalGas += acc.gas
    const profitUsd = Number(acc.money) * usdPerUnit - acc.costUsd
    return {
      strategy: strategyName(strategy),
      cheatRate: rate,
      profitUsd,
      profitPerHourUsd: profitUsd / config.hours,
      gas: acc.gas,
      executions: acc.executions,
      verifierGas,
      served: batchesPerNode * n,
      cheats,
      overturned: overturnedTotal,
      refusedBatches: refused,
      detectionLatency: firstCheat !== null && firstCatch !== null ? firstCatch - firstCheat : null,
      finalSamplingRate: lastRate,
    }
  })

  const verifiers: VerifierResult[] = config.verifiers.map((strategy, v) => {
    const acc = vAcc[v]!
    acc.costUsd += acc.gas * gasUsd
    totalGas += acc.gas
    totalExecutions += acc.executions
    const profitUsd = Number(acc.money) * usdPerUnit - acc.costUsd
    return {
      strategy,
      profitUsd,
      profitPerHourUsd: profitUsd / config.hours,
      gas: acc.gas,
      executions: acc.executions,
      slashes: vSlashes[v]!,
      decoysCaught: vDecoys[v]!,
      cheatsCaught: vCheats[v]!,
    }
  })
  return {
    nodes,
    verifiers,
    verificationShare: totalExecutions / served,
    honestGasPerInference: honestGas(nodes.filter((_, i) => config.nodes[i]!.kind === 'honest')),
    honestVerificationShare: shareOf(nodes.filter((_, i) => config.nodes[i]!.kind === 'honest')),
    gasPerInference: totalGas / served,
    inferences: served,
    batches,
  }
}
