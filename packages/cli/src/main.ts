import { BaseError } from '@verity/runtime'
import { Command, InvalidArgumentError } from 'commander'
import { demo } from './commands/demo.js'
import { evaluate } from './commands/evaluate.js'
import { modelImport } from './commands/modelImport.js'
import { runCommand } from './commands/run.js'

function positiveInt(v: string): number {
  const n = Number(v)
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got "${v}"`)
  return n
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
    .requiredOption('--input <file>', 'input JSON ({<input>: {shape, data}}) or mnist:<dir>#<index>')
    .option('--trace', 'also compute the execution trace and print its root', false)
    .option('--json', 'print JSON', false)
    .action((o) => {
      runCommand({ model: o.model, input: o.input, trace: o.trace, json: o.json })
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
    .command('demo')
    .description('Import mnist-8, answer real MNIST digits with traced runs, and verify single values')
    .option('--shared <dir>', 'the shared data directory', '../shared')
    .option('--requests <n>', 'number of requests', positiveInt, 20)
    .option('--out <dir>', 'where to write the artifact', '.verity')
    .action((o) => demo({ shared: o.shared, requests: o.requests, out: o.out }))
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
      for (const [k, v] of Object.entries(e.details)) console.error(`  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
      return 1
    }
    throw e
  }
}
