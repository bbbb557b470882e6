import { type Fault, MONEY_ATTACKS, type MoneyAttack, NODE_ADVERSARIES, type NodeAdversary } from '@verity/adversary'
import type { DeploymentParams } from '@verity/chain'
import { encodeMode, type VerificationMode } from '@verity/protocol'
import { BaseError } from '@verity/runtime'
import { Command, InvalidArgumentError } from 'commander'
import { isAddress, parseUnits } from 'viem'
import { chainStart } from './commands/chainStart.js'
import { auditCommand, inferCommand, statusCommand } from './commands/clientCommands.js'
import { dashboardCommand } from './commands/dashboard.js'
import { demo } from './commands/demo.js'
import { deploy } from './commands/deploy.js'
import { devnet } from './commands/devnet.js'
import { evaluate } from './commands/evaluate.js'
import { generateCommand } from './commands/generate.js'
import { modelImport } from './commands/modelImport.js'
import { modelPublish, nodeCommand } from './commands/nodeCommands.js'
import { runCommand } from './commands/run.js'
import { simCommand } from './commands/sim.js'
import { stake, unstake } from './commands/stake.js'
import { demoData } from './demoData.js'
import { UsageError } from './samples.js'

/** An option's value as a number; a blank one is none (`Number('')` would make it 0). */
function numberOf(v: string): number {
  return v.trim() === '' ? Number.NaN : Number(v)
}

function positiveInt(v: string): number {
  const n = numberOf(v)
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got "${v}"`)
  return n
}

function rate(v: string): number {
  const n = numberOf(v)
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError(`expected a number between 0 and 1, got "${v}"`)
  return n
}

function mode(v: string): VerificationMode {
  try {
    encodeMode(v as VerificationMode)
    return v as VerificationMode
  } catch {
    throw new InvalidArgumentError(`expected none, optimistic or quorum:k, got "${v}"`)
  }
}

/** `--fault <kind>:<rate>` (flip-output, deep-value, silent): a deliberately faulty node, for tests and demos only. */
function fault(v: string): Fault {
  const match = /^(flip-output|deep-value|silent):([0-9.]+)$/.exec(v)
  const r = match ? Number(match[2]) : Number.NaN
  if (!(r > 0 && r <= 1)) throw new InvalidArgumentError(`expected flip-output|deep-value|silent:<rate in (0, 1]>, got "${v}"`)
  return { kind: match![1] as Fault['kind'], rate: r }
}

/**
 * `--adversary <strategy>:<rate>`: wrong-output (node 0 answers a wrong final output), deep-value
 * (node 0 computes one intermediate value wrong), silent (node 0 answers wrong and never defends),
 * false-challenger (verifier 0 challenges correct receipts); without a rate: tarpit (node 0 holds the
 * verifiers' connections open) and receipt-forger (node 0 serves another receipt for an id), wrappers
 * around the honest node (all in @verity/adversary); data-withholder:<rate> (a node answers wrong at
 * that rate and withholds the inputs of the cheats it predicts will be sampled, leaving their data
 * challenges unanswered), late-publisher:<rate> (the same, but it publishes the data on-chain once
 * challenged) and batch-withholder:<rate> (the same cheats, but it answers 404 on all its batches and
 * proofs and on its cheats' inputs, answering on-chain only for honest receipts) — nodes 0, 1, … in
 * the order given; lazy-verifier (a verifier of its own attests everything without re-executing);
 * `model-squatter` (registers the demo model with wrong roots before its publisher); or one of the
 * money attacks run after the workload by a party of its own (escrow-thief, replayer, model-swapper,
 * stake-exhauster). Repeatable.
 */
type Adversaries = {
  fault?: Fault
  falseChallengeRate?: number
  nodeAdversary?: Exclude<NodeAdversary, 'data-withholder'>
  /** Nodes 0, 1, … in the order given: `data-withholder:<rate>`, `late-publisher:<rate>`, `batch-withholder:<rate>`. */
  dataWithholders?: { rate: number; publishOnChallenge?: boolean; wholeBatch?: boolean }[]
  lazyVerifier?: boolean
  adversary?: 'model-squatter'
  moneyAttacks?: MoneyAttack[]
}
function adversary(v: string, previous: Adversaries = {}): Adversaries {
  if (v === 'model-squatter') return { ...previous, adversary: v }
  if (v === 'lazy-verifier') return { ...previous, lazyVerifier: true }
  if ((NODE_ADVERSARIES as readonly string[]).includes(v))
    return { ...previous, nodeAdversary: v as Exclude<NodeAdversary, 'data-withholder'> }
  const withholder = /^(data-withholder|late-publisher|batch-withholder):([0-9.]+)$/.exec(v)
  if (withholder && Number(withholder[2]) > 0 && Number(withholder[2]) <= 1) {
    const spec = {
      rate: Number(withholder[2]),
      ...(withholder[1] === 'late-publisher' ? { publishOnChallenge: true } : {}),
      ...(withholder[1] === 'batch-withholder' ? { wholeBatch: true } : {}),
    }
    return { ...previous, dataWithholders: [...(previous.dataWithholders ?? []), spec] }
  }
  if ((MONEY_ATTACKS as readonly string[]).includes(v))
    return { ...previous, moneyAttacks: [...(previous.moneyAttacks ?? []), v as MoneyAttack] }
  return { ...previous, ...faultyParty(v) }
}

function faultyParty(v: string): Pick<Adversaries, 'fault' | 'falseChallengeRate'> {
  const match = /^(wrong-output|deep-value|silent|false-challenger):([0-9.]+)$/.exec(v)
  const r = match ? Number(match[2]) : Number.NaN
  if (!(r > 0 && r <= 1))
    throw new InvalidArgumentError(
      `expected wrong-output|deep-value|silent|false-challenger|data-withholder|late-publisher|batch-withholder:<rate in (0, 1]>, tarpit, receipt-forger, lazy-verifier, model-squatter or one of ${MONEY_ATTACKS.join(', ')}, got "${v}"`,
    )
  const kind = match![1]!
  if (kind === 'false-challenger') return { falseChallengeRate: r }
  return { fault: { kind: kind === 'wrong-output' ? 'flip-output' : (kind as Fault['kind']), rate: r } }
}

function weightBits(v: string): 8 | 16 {
  if (v !== '8' && v !== '16') throw new InvalidArgumentError(`expected 8 or 16, got "${v}"`)
  return Number(v) as 8 | 16
}

function nonNegative(v: string): number {
  const n = numberOf(v)
  if (!(n >= 0) || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number ≥ 0, got "${v}"`)
  return n
}

function nonNegativeInt(v: string): number {
  const n = numberOf(v)
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative integer, got "${v}"`)
  return n
}

function tokens(v: string): bigint {
  try {
    return parseUnits(v, 18)
  } catch {
    throw new InvalidArgumentError(`expected an amount of tokens, got "${v}"`)
  }
}

/** Options of the deployment parameters, shared by `chain start` and `deploy`. */
function withDeploymentOptions(command: Command, defaults: Partial<Record<keyof DeploymentParams, number>>): Command {
  const d = (name: keyof DeploymentParams) => (defaults[name] === undefined ? [] : [defaults[name]])
  return command
    .option('--window <seconds>', 'challenge window', nonNegativeInt, ...d('challengeWindow'))
    .option('--max-dispute <seconds>', 'longest dispute before a challenge can be expired', nonNegativeInt, ...d('maxDisputeDuration'))
    .option('--unbonding <seconds>', 'unbonding delay (must exceed window + max dispute)', nonNegativeInt, ...d('unbondingDelay'))
    .option(
      '--escrow-delay <seconds>',
      'client escrow withdrawal delay (must exceed window + max dispute)',
      nonNegativeInt,
      ...d('escrowWithdrawalDelay'),
    )
    .option(
      '--data-response <seconds>',
      'time a node has to publish challenged data (under max dispute)',
      nonNegativeInt,
      ...d('dataResponseTime'),
    )
    .option('--slash <tokens>', 'stake taken from a node per overturned receipt (each receipt in an open batch reserves it)', tokens)
    .option('--attester-slash <tokens>', 'stake taken from a verifier that attested an overturned receipt', tokens)
    .option('--min-inference-stake <tokens>', 'minimum stake of an inference node', tokens)
    .option('--min-verifier-stake <tokens>', 'minimum stake of a verifier', tokens)
    .option('--verifier-share <bps>', "verifiers' share of a batch's fees, in basis points", nonNegativeInt)
    .option('--challenge-bond <tokens>', 'bond locked by an execution challenge', tokens)
    .option(
      '--data-challenge-bond <tokens>',
      "bond locked by a data, availability or inclusion challenge (the node's gas to answer)",
      tokens,
    )
    .option(
      '--min-sample-rate <bps>',
      "floor of every batch's sampling rate P in basis points (10000: every leaf assigned to every verifier; 0: the adaptive rate alone)",
      nonNegativeInt,
    )
}

function deploymentParams(o: Record<string, unknown>): Partial<DeploymentParams> {
  const params: Partial<DeploymentParams> = {}
  const set = <K extends keyof DeploymentParams>(key: K, value: unknown) => {
    if (value !== undefined) params[key] = value as DeploymentParams[K]
  }
  set('challengeWindow', o.window)
  set('maxDisputeDuration', o.maxDispute)
  set('unbondingDelay', o.unbonding)
  set('escrowWithdrawalDelay', o.escrowDelay)
  set('minInferenceStake', o.minInferenceStake)
  set('minVerifierStake', o.minVerifierStake)
  set('verifierShareBps', o.verifierShare)
  set('challengeBond', o.challengeBond)
  set('dataChallengeBond', o.dataChallengeBond)
  set('dataResponseTime', o.dataResponse)
  set('slashAmount', o.slash)
  set('attesterSlash', o.attesterSlash)
  set('minSampleRateBps', o.minSampleRate)
  return params
}

/** Builds the `verity` command tree. */
export function program(): Command {
  const cli = new Command('verity').description('Verity: verifiable AI inference').showHelpAfterError()
  const model = cli.command('model').description('Model artifacts')
  model
    .command('import <model.onnx>')
    .description('Quantize an ONNX model to the integer semantics and write its artifact')
    .requiredOption('--calibrate <dataset>', 'calibration inputs: mnist:<dir>, random[:lo,hi], or a JSON file')
    .requiredOption('--out <file>', 'artifact file to write')
    .option('--count <n>', 'number of calibration samples', positiveInt, 500)
    .option('--name <name>', 'model name recorded in the artifact')
    .option('--json', 'print the report as JSON', false)
    .action((file: string, o) => {
      modelImport(file, { calibrate: o.calibrate, out: o.out, count: o.count, json: o.json, ...(o.name ? { name: o.name } : {}) })
    })
  cli
    .command('run')
    .description('Run a model artifact on one input')
    .requiredOption('--model <artifact>', 'model artifact')
    .requiredOption(
      '--input <file>',
      'a PNG or JPEG image, a tensor JSON file ({<input>: {shape, data}}, real input units) or mnist:<dir>#<index>',
    )
    .option('--trace', 'also compute the execution trace and print its root', false)
    .option('--json', 'print JSON', false)
    .action((o) => {
      runCommand({ model: o.model, input: o.input, trace: o.trace, json: o.json })
    })
  cli
    .command('generate')
    .description('Generate text with a language model (ONNX or artifact) in the exact integer runtime')
    .requiredOption('--model <file>', 'ONNX language model (token ids in, logits out) or model artifact')
    .requiredOption('--prompt <text>', 'prompt text')
    .option('--max-tokens <n>', 'tokens to generate', positiveInt, 64)
    .option('--temperature <t>', 'sampling temperature (0: greedy)', nonNegative, 0)
    .option('--seed <s>', 'seed of the sampling draws', nonNegativeInt, 0)
    .option('--tokenizer <file>', 'llama2.c tokenizer (.bin); default: a tok*.bin beside the model')
    .option('--vocab <characters>', 'character vocabulary instead of a tokenizer file (token i = i-th character)')
    .option('--calibrate <text file>', 'text to calibrate an ONNX model on (default: the prompt)')
    .option('--context <n>', 'context length for an ONNX model (default: prompt + max tokens)', positiveInt)
    .option('--weight-bits <8|16>', 'Dense weight width for an ONNX model', weightBits)
    .option('--json', 'print JSON', false)
    .action((o) => {
      generateCommand({
        model: o.model,
        prompt: o.prompt,
        maxTokens: o.maxTokens,
        temperature: o.temperature,
        seed: o.seed,
        tokenizer: o.tokenizer,
        vocab: o.vocab,
        calibrate: o.calibrate,
        context: o.context,
        weightBits: o.weightBits,
        json: o.json,
      })
    })
  cli
    .command('eval')
    .description('Accuracy of a model artifact on a dataset, and agreement with its float model')
    .requiredOption('--model <artifact>', 'model artifact')
    .requiredOption('--dataset <name>', 'dataset (mnist)')
    .requiredOption('--data <dir>', 'dataset directory')
    .option('--limit <n>', 'evaluate the first n images', positiveInt)
    .option('--onnx <file>', 'the float ONNX model (default: found by the name and hash recorded in the artifact)')
    .option('--json', 'print JSON', false)
    .action(async (o) => {
      await evaluate({
        model: o.model,
        dataset: o.dataset,
        data: o.data,
        json: o.json,
        ...(o.limit ? { limit: o.limit } : {}),
        ...(o.onnx ? { onnx: o.onnx } : {}),
      })
    })
  cli
    .command('sim')
    .description(
      'Economics simulation: EV per strategy per hour, detection latency, verifier profit, verification share and gas per inference',
    )
    .option('--model <name>', 'one measured model (default: every model in @verity/sim costProfiles.json)')
    .option('--seed <n>', 'random seed', positiveInt, 1)
    .option('--nodes <n>', 'inference nodes', positiveInt, 100)
    .option('--verifiers <n>', 'verifiers', positiveInt, 24)
    .option('--inferences <n>', 'inferences served over the run', positiveInt, 10_000_000)
    .option('--hours <n>', 'hours simulated', positiveInt, 24)
    .option('--params <set>', 'derived (DERIVED_DEFAULTS) or legacy (3 verifiers at 30 %, no decoys)', 'derived')
    .option('--selected-bits-only', "count only attested bits in the verifier's own selection (proposed rule)", false)
    .option('--svg <file>', 'write the EV-per-strategy plot of the first model to this SVG file')
    .option('--json', 'print JSON', false)
    .action(async (o) => {
      await simCommand({
        seed: o.seed,
        nodes: o.nodes,
        verifiers: o.verifiers,
        inferences: o.inferences,
        hours: o.hours,
        params: o.params,
        selectedBitsOnly: o.selectedBitsOnly,
        json: o.json,
        ...(o.model ? { model: o.model } : {}),
        ...(o.svg ? { svg: o.svg } : {}),
      })
    })
  cli
    .command('demo')
    .description('Import mnist-8, answer real MNIST digits with traced runs, and verify single values')
    .option('--onnx <file>', 'the mnist-8 ONNX model', demoData.onnx)
    .option('--mnist <dir>', 'the MNIST test set (t10k-*-ubyte[.gz])', demoData.mnist)
    .option('--requests <n>', 'number of requests', positiveInt, 20)
    .option('--out <dir>', 'where to write the artifact', '.verity')
    .action((o) => demo({ onnx: o.onnx, mnist: o.mnist, requests: o.requests, out: o.out }))
  cli
    .command('devnet')
    .description('The whole network in one process (chain, hub, nodes, verifiers) and a workload of real MNIST digits; serves until Ctrl-C')
    .option('--onnx <file>', 'the mnist-8 ONNX model', demoData.onnx)
    .option('--mnist <dir>', 'the MNIST test set (t10k-*-ubyte[.gz]): calibration and workload', demoData.mnist)
    .option('--dir <dir>', 'working directory (wiped at start)', '.verity/devnet')
    .option(
      '--host <address>',
      'address the chain, hub, nodes, verifiers and dashboard listen on (0.0.0.0 serves other machines)',
      '127.0.0.1',
    )
    .option('--port <n>', 'JSON-RPC port of the chain (0 = any free port)', nonNegativeInt, 8545)
    .option('--dashboard-port <n>', 'port of the trust dashboard (0 = any free port)', nonNegativeInt, 7700)
    .option('--requests <n>', 'MNIST test digits to send', nonNegativeInt, 200)
    .option('--mode <mode>', 'verification mode of the requests: none, optimistic, quorum:k', mode, 'optimistic')
    .option(
      '--sample-rate <p>',
      'share of optimistic receipts each verifier re-executes (default: adaptive per node, docs/economics.md)',
      rate,
    )
    .option('--window <s>', 'challenge window in seconds', positiveInt, 30)
    .option('--data-response <s>', 'time a node has to answer a data challenge, seconds (default: half the window)', positiveInt)
    .option('--nodes <n>', 'inference nodes', positiveInt, 2)
    .option('--verifiers <n>', 'verifiers', positiveInt, 3)
    .option('--batch-size <n>', 'receipts per batch (a batch also closes after 1 s)', positiveInt, 32)
    .option('--concurrency <n>', 'requests in flight', positiveInt, 4)
    .option('--fault <spec>', 'make node 0 deliberately faulty, e.g. flip-output:0.05 (tests and demos only)', fault)
    .option(
      '--adversary <strategy>',
      `a cheating party: wrong-output:<rate>, deep-value:<rate>, silent:<rate>, tarpit, receipt-forger, (node 0), data-withholder:<rate> (cheats and withholds the data of the cheats that will be sampled), late-publisher:<rate> (the same, publishing at the last moment once challenged), batch-withholder:<rate> (the same cheats, withholding every batch and proof) (nodes 0, 1, … in order), false-challenger:<rate> (verifier 0), lazy-verifier (a verifier of its own attesting without re-executing), model-squatter, or a money attack run after the workload (${MONEY_ATTACKS.join(', ')}); repeatable`,
      adversary,
    )
    .option('--exit', 'stop once the workload has settled', false)
    .option('--verbose', 'print every transition and every role log line', false)
    .option('--json', 'print the summary as JSON', false)
    .action(async (o) => {
      await devnet({
        host: o.host,
        onnx: o.onnx,
        mnist: o.mnist,
        dir: o.dir,
        port: o.port,
        dashboardPort: o.dashboardPort,
        requests: o.requests,
        mode: o.mode,
        sampleRate: o.sampleRate,
        window: o.window,
        ...(o.dataResponse === undefined ? {} : { dataResponse: o.dataResponse }),
        nodes: o.nodes,
        verifiers: o.verifiers,
        batchSize: o.batchSize,
        concurrency: o.concurrency,
        exit: o.exit,
        json: o.json,
        verbose: o.verbose,
        ...(o.fault ? { fault: o.fault } : {}),
        ...(o.adversary ?? {}),
      })
    })
  const networkOptions = (command: Command) =>
    command
      .requiredOption('--rpc <url>', 'JSON-RPC endpoint')
      .option('--addresses <file>', 'address book of the deployment', '.verity/devnet/addresses.json')
      .option('--node <url>', 'inference node URL (default: found through the on-chain registry)')
      .option('--log-range <blocks>', 'widest block range per eth_getLogs (what the endpoint accepts; default 2000)', positiveInt)
      .option('--json', 'print JSON', false)
  networkOptions(
    cli.command('infer').description('Ask the network for an inference: prints the answer at once, then its trust transitions'),
  )
    .requiredOption('--model <id>', 'model id')
    .requiredOption(
      '--input <spec>',
      'a PNG or JPEG image, a tensor JSON file ({<input>: {shape, data}}, real input units) or mnist:<dir>#<index>',
    )
    .requiredOption('--key <file>', "the client's key file (signs the request; pays from its escrow)")
    .option('--mode <mode>', 'none, optimistic or quorum:k', mode, 'optimistic')
    .option('--no-wait', 'return after the answer instead of following it to FINAL')
    .action(async (o) => {
      await inferCommand({
        rpc: o.rpc,
        addresses: o.addresses,
        key: o.key,
        json: o.json,
        model: o.model,
        input: o.input,
        mode: o.mode,
        wait: o.wait,
        ...(o.logRange ? { logRange: o.logRange } : {}),
        ...(o.node ? { node: o.node } : {}),
      })
    })
  cli
    .command('dashboard')
    .description(
      'Index a deployment (chain events, the nodes’ batches, the operators’ APIs) into SQLite and serve the trust dashboard, its API and /metrics',
    )
    .requiredOption('--rpc <url>', 'JSON-RPC endpoint')
    .option('--addresses <file>', 'address book of the deployment', '.verity/devnet/addresses.json')
    .option('--db <file>', 'the index database', '.verity/dashboard.sqlite')
    .option('--log-range <blocks>', 'widest block range per eth_getLogs (what the endpoint accepts; default 2000)', positiveInt)
    .option('--host <address>', 'address to listen on (0.0.0.0 serves other machines)', '127.0.0.1')
    .option('--port <n>', 'HTTP port', nonNegativeInt, 7700)
    .action(async (o) => {
      await dashboardCommand({
        rpc: o.rpc,
        addresses: o.addresses,
        db: o.db,
        host: o.host,
        port: o.port,
        ...(o.logRange ? { logRange: o.logRange } : {}),
      })
    })
  networkOptions(
    cli.command('status <inference>').description('Trust level and timeline of an inference, checked against the chain'),
  ).action(async (id: string, o) => {
    await statusCommand(id, {
      rpc: o.rpc,
      addresses: o.addresses,
      json: o.json,
      ...(o.node ? { node: o.node } : {}),
      ...(o.logRange ? { logRange: o.logRange } : {}),
    })
  })
  networkOptions(
    cli
      .command('audit <inference>')
      .description("Re-execute an inference locally from public data and compare with its receipt; check each attestation's execution tag"),
  )
    .option('--refute', 'refute every attestation whose execution tag is wrong (sends transactions; needs --key)', false)
    .option('--key <file>', 'key file paying for --refute (and earning the bounty)')
    .action(async (id: string, o) => {
      await auditCommand(id, {
        rpc: o.rpc,
        addresses: o.addresses,
        json: o.json,
        refute: o.refute,
        ...(o.key ? { key: o.key } : {}),
        ...(o.node ? { node: o.node } : {}),
        ...(o.logRange ? { logRange: o.logRange } : {}),
      })
    })
  cli
    .command('node <role>')
    .description('Run one role as its own process: inference, verifier or hub')
    .option('--rpc <url>', 'JSON-RPC endpoint (inference, verifier)')
    .option('--key <file>', "the operator's key file (inference, verifier)")
    .option('--addresses <file>', 'address book of the deployment', '.verity/addresses.json')
    .option('--host <address>', "address the role's API listens on (0.0.0.0 serves other machines)", '127.0.0.1')
    .option('--port <n>', "HTTP port of the role's API (inference, verifier, hub)", nonNegativeInt, 0)
    .option('--db <file>', 'SQLite database (inference, verifier)', '.verity/node.sqlite')
    .option('--hub <url>', 'model hub URL (inference, verifier)')
    .option('--dir <dir>', 'artifact directory (hub)', '.verity/hub')
    .option('--public-url <url>', 'URL verifiers and clients use to reach this node')
    .option('--sample-rate <p>', 'share of optimistic receipts to re-execute (verifier; default: adaptive per node)', rate)
    .option('--fault <spec>', 'deliberately faulty node, e.g. flip-output:0.05 (tests and demos only)', fault)
    .option('--batch-size <n>', 'commit a batch when this many receipts wait (inference)', positiveInt, 64)
    .option('--batch-age-ms <ms>', 'or when the oldest receipt waited this long (inference)', positiveInt, 2000)
    .option(
      '--run-workers <n>',
      'worker threads that may run the models (inference; default one per core, at most 8; 0: on the event loop)',
      nonNegativeInt,
    )
    .option(
      '--spread-run-ms <ms>',
      "a model whose runs take at least this long spreads its requests over every run worker, a quicker one's share one (inference; 0: every model spreads once it has run)",
      nonNegative,
      1,
    )
    .option(
      '--sqlite-cache-mb <n>',
      "page cache of the connection that writes receipts, MB (inference; receipts' indexes beyond it are read back per insert)",
      positiveInt,
      64,
    )
    .option('--log-range <blocks>', 'widest block range per eth_getLogs (what the endpoint accepts; default 2000)', positiveInt)
    .option(
      '--decoy-funder <file>',
      "key file of the account that funds the node's decoy clients (inference; without it decoys are signed by keys derived from the node's)",
    )
    .action(async (role: string, o) => {
      if (role !== 'hub' && (!o.rpc || !o.key)) throw new UsageError(`verity node ${role} needs --rpc and --key`)
      await nodeCommand(role, {
        rpc: o.rpc,
        key: o.key,
        addresses: o.addresses,
        host: o.host,
        port: o.port,
        db: o.db,
        dir: o.dir,
        sampleRate: o.sampleRate,
        batchSize: o.batchSize,
        batchAgeMs: o.batchAgeMs,
        ...(o.runWorkers === undefined ? {} : { runWorkers: o.runWorkers }),
        spreadRunMs: o.spreadRunMs,
        sqliteCacheMb: o.sqliteCacheMb,
        ...(o.logRange ? { logRange: o.logRange } : {}),
        ...(o.hub ? { hub: o.hub } : {}),
        ...(o.publicUrl ? { publicUrl: o.publicUrl } : {}),
        ...(o.fault ? { fault: o.fault } : {}),
        ...(o.decoyFunder ? { decoyFunder: o.decoyFunder } : {}),
      })
    })
  model
    .command('publish <file>')
    .description('Import (an .onnx, with --calibrate) or take an artifact, upload it to the hub and register it on-chain')
    .requiredOption('--hub <url>', 'model hub URL')
    .requiredOption('--rpc <url>', 'JSON-RPC endpoint')
    .requiredOption('--key <file>', "the publisher's key file")
    .option('--addresses <file>', 'address book of the deployment', '.verity/addresses.json')
    .option('--calibrate <dataset>', 'calibration inputs for an ONNX file: mnist:<dir>, random[:lo,hi], or a JSON file')
    .option('--count <n>', 'number of calibration samples', positiveInt, 500)
    .option('--json', 'print JSON', false)
    .action(async (file: string, o) => {
      await modelPublish(file, {
        hub: o.hub,
        rpc: o.rpc,
        key: o.key,
        addresses: o.addresses,
        count: o.count,
        json: o.json,
        ...(o.calibrate ? { calibrate: o.calibrate } : {}),
      })
    })
  const chain = cli.command('chain').description('The embedded development chain')
  withDeploymentOptions(
    chain
      .command('start')
      .description('Start an in-process EVM with the Verity contracts deployed, serve it as JSON-RPC, and wait for Ctrl-C')
      .option('--host <address>', 'address the JSON-RPC server listens on (0.0.0.0 serves other machines)', '127.0.0.1')
      .option('--port <n>', 'JSON-RPC port (0 = any free port)', nonNegativeInt, 8545)
      .option('--addresses <file>', 'address book to write', '.verity/addresses.json')
      .option('--keys <dir>', 'where to write the development accounts key files', '.verity/keys')
      .option('--fund <tokens>', 'tokens given to each development account', '100000')
      .option('--block-time <ms>', 'also mine a block every <ms> milliseconds', positiveInt)
      .option('--json', 'print the RPC URL and addresses as one JSON line', false),
    { challengeWindow: 60, maxDisputeDuration: 120, unbondingDelay: 600, escrowWithdrawalDelay: 240, dataResponseTime: 30 },
  ).action(async (o) => {
    await chainStart({
      host: o.host,
      port: o.port,
      addresses: o.addresses,
      keysDir: o.keys,
      fund: o.fund,
      json: o.json,
      params: deploymentParams(o),
      ...(o.blockTime ? { blockTimeMs: o.blockTime } : {}),
    })
  })
  withDeploymentOptions(
    cli
      .command('deploy')
      .description('Deploy the Verity contracts to any EVM JSON-RPC endpoint and write the address book')
      .requiredOption('--rpc <url>', 'JSON-RPC endpoint')
      .requiredOption('--key <file>', 'file holding the deployer private key (0x + 64 hex digits)')
      .option('--out <file>', 'address book to write', 'addresses.json')
      .option('--token <address>', 'use this ERC-20 for stakes and fees instead of deploying VerityToken')
      .option('--json', 'print JSON', false),
    {},
  ).action(async (o) => {
    if (o.token !== undefined && !isAddress(o.token)) throw new UsageError('--token must be an address', { found: o.token })
    await deploy({ rpc: o.rpc, key: o.key, out: o.out, json: o.json, params: deploymentParams(o), ...(o.token ? { token: o.token } : {}) })
  })
  const operatorOptions = (command: Command) =>
    command
      .requiredOption('--role <role>', 'inference or verifier')
      .requiredOption('--rpc <url>', 'JSON-RPC endpoint')
      .requiredOption('--key <file>', "file holding the operator's private key")
      .option('--addresses <file>', 'address book of the deployment', '.verity/addresses.json')
      .option('--json', 'print JSON', false)
  operatorOptions(cli.command('stake').description('Register as an inference node or verifier (with --endpoint), or add stake'))
    .requiredOption('--amount <tokens>', 'tokens to stake')
    .option('--endpoint <url>', 'public URL of the node (required the first time)')
    .action(async (o) => {
      await stake({
        role: o.role,
        amount: o.amount,
        rpc: o.rpc,
        key: o.key,
        addresses: o.addresses,
        json: o.json,
        ...(o.endpoint ? { endpoint: o.endpoint } : {}),
      })
    })
  operatorOptions(
    cli.command('unstake').description('Start unbonding stake (--amount), or withdraw stake whose unbonding delay has passed (--withdraw)'),
  )
    .option('--amount <tokens>', 'tokens to unbond')
    .option('--withdraw', 'pay out the unbonded stake', false)
    .action(async (o) => {
      await unstake({
        role: o.role,
        withdraw: o.withdraw,
        rpc: o.rpc,
        key: o.key,
        addresses: o.addresses,
        json: o.json,
        ...(o.amount ? { amount: o.amount } : {}),
      })
    })
  return cli
}

/** Runs the CLI; returns the exit code. Typed errors print their code, message and details. */
export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv)
    return Number(process.exitCode ?? 0)
  } catch (e) {
    if (e instanceof BaseError) {
      console.error(`error ${e.code}: ${e.shortMessage}`)
      for (const [k, v] of Object.entries(e.details)) {
        console.error(`  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? x.toString() : x))}`)
      }
      return 1
    }
    throw e
  }
}
