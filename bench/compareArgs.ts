/**
 * The command lines `bench:compare` (bench/loadCompare.bench.ts) gives each side's processes, from its
 * own argv: pure, so the flags a comparison is about are tested to reach the side they name.
 */
export type Side = 'a' | 'b'

/** The value after `--name` in `argv`, or undefined (the bench roles' own reading: the first occurrence wins). */
export function flagIn(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`)
  return i > 0 ? argv[i + 1] : undefined
}

const words = (text: string | undefined) => text?.split(' ').filter(Boolean) ?? []

/** The model both sides serve (`--model`, `--tokens`: bench/loadWorkload.ts), for the node and client roles alike. */
export function modelArgs(argv: readonly string[]): string[] {
  return ['model', 'tokens'].flatMap((name) => {
    const value = flagIn(argv, name)
    return value === undefined ? [] : [`--${name}`, value]
  })
}

/**
 * The node role's arguments for `side`: its own `--<side>-node-args` first — the roles read the first
 * occurrence of a flag, so they override the defaults after them — then the model, its store's
 * directory, the run workers and the receipts stored first.
 */
export function nodeRoleArgs(argv: readonly string[], side: Side, dir: string): string[] {
  return [
    ...words(flagIn(argv, `${side}-node-args`)),
    ...modelArgs(argv),
    '--role',
    'node',
    '--dir',
    dir,
    ...(flagIn(argv, 'workers') === undefined ? [] : ['--workers', flagIn(argv, 'workers')!]),
    '--prefill',
    flagIn(argv, `${side}-prefill`) ?? '0',
  ]
}

/** The process flags (`node --flag …`) of `side`'s node. */
export function nodeProcessFlags(argv: readonly string[], side: Side): string[] {
  return words(flagIn(argv, `${side}-node-flags`))
}
