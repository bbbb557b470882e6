import { describe, expect, it } from 'vitest'
import { flagIn, modelArgs, nodeProcessFlags, nodeRoleArgs } from './compareArgs.js'

const argv = (...rest: string[]) => ['node', 'loadCompare.bench.ts', ...rest]
/** A flag as the spawned role reads it from its own argv (the executable and the script first). */
const roleFlag = (args: string[], name: string) => flagIn(['node', 'load.bench.ts', ...args], name)

describe('bench:compare arguments', () => {
  it("gives each side's node its own node-role flags, ahead of the defaults they override", () => {
    const given = argv('--b-node-args', '--workers 0  --finalize 0', '--a-prefill', '1000', '--workers', '2')
    const b = nodeRoleArgs(given, 'b', '/tmp/b')
    expect(b).toEqual(['--workers', '0', '--finalize', '0', '--role', 'node', '--dir', '/tmp/b', '--workers', '2', '--prefill', '0'])
    // As the node role reads it: its own flag wins over the compare's default.
    expect(roleFlag(b, 'workers')).toBe('0')
    expect(roleFlag(b, 'finalize')).toBe('0')
    const a = nodeRoleArgs(given, 'a', '/tmp/a')
    expect(roleFlag(a, 'workers')).toBe('2')
    expect(roleFlag(a, 'finalize')).toBeUndefined()
    expect(roleFlag(a, 'prefill')).toBe('1000')
    // No --workers: each node keeps its own default.
    expect(roleFlag(nodeRoleArgs(argv(), 'a', '/tmp/a'), 'workers')).toBeUndefined()
  })

  it('serves the same model on both sides, and passes process flags to the side they name', () => {
    const given = argv('--model', 'stories260K', '--tokens', '32', '--a-node-flags', '--max-semi-space-size=64')
    expect(modelArgs(given)).toEqual(['--model', 'stories260K', '--tokens', '32'])
    for (const side of ['a', 'b'] as const) expect(roleFlag(nodeRoleArgs(given, side, '/tmp/x'), 'model')).toBe('stories260K')
    expect(nodeProcessFlags(given, 'a')).toEqual(['--max-semi-space-size=64'])
    expect(nodeProcessFlags(given, 'b')).toEqual([])
    expect(modelArgs(argv())).toEqual([])
  })
})
