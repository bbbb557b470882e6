import { TxSender } from '@verity/chain'
import { type Hex, keccak256, parseEventLogs, toHex } from 'viem'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type ModelRoots, modelIdOf, Role } from '../src/index.js'
import { deployFixture, expectRevert, type Fixture, TOKEN } from './fixture.js'

let f: Fixture
let snapshot: Hex
beforeAll(async () => {
  f = await deployFixture()
})
afterAll(() => f.close())
beforeEach(async () => {
  snapshot = await f.chain.snapshot()
})
afterEach(async () => {
  await f.chain.revert(snapshot)
})

/** Fresh senders each test: a reverted snapshot invalidates cached nonces. */
const sender = (i: number) => new TxSender({ chain: f.chain, account: f.chain.accounts[i]!.privateKey })
const id = (s: string) => keccak256(toHex(s))
const zero: Hex = `0x${'00'.repeat(32)}`
const random = (): Hex => toHex(crypto.getRandomValues(new Uint8Array(32)))

describe('ModelRegistry', () => {
  const m = () => ({ address: f.book.contracts.modelRegistry, abi: f.contracts.modelRegistry.abi }) as const
  const roots = (tag: string): ModelRoots => ({
    artifactHash: id(`${tag}/artifact`),
    weightsRoot: id(`${tag}/w`),
    graphRoot: id(`${tag}/g`),
    specHash: id(`${tag}/s`),
  })
  const args = (uri: string, r: ModelRoots) => [uri, r.artifactHash, r.weightsRoot, r.graphRoot, r.specHash] as const
  const a = roots('a')
  const idA = modelIdOf(a)

  it('test_register_newModel_succeeds', async () => {
    const publisher = sender(1)
    const result = await publisher.write({ ...m(), functionName: 'register', args: args('http://hub/a', a) })
    const [event] = parseEventLogs({ abi: f.contracts.modelRegistry.abi, logs: result.receipt.logs, eventName: 'ModelRegistered' })
    expect(event!.args).toEqual({ modelId: idA, publisher: publisher.address, ...a, artifactURI: 'http://hub/a' })
    expect(await f.contracts.modelRegistry.read.getModel([idA])).toMatchObject({
      publisher: publisher.address,
      deprecated: false,
      ...a,
      artifactURI: 'http://hub/a',
    })
    expect(await f.contracts.modelRegistry.read.isActive([idA])).toBe(true)
    expect(await f.contracts.modelRegistry.read.modelCount()).toBe(1n)
    expect(await f.contracts.modelRegistry.read.modelIdAt([0n])).toBe(idA)
  })

  it('test_modelIdOf_sameAsTypeScript_succeeds', async () => {
    for (let i = 0; i < 8; i++) {
      const r: ModelRoots = { artifactHash: random(), weightsRoot: random(), graphRoot: random(), specHash: random() }
      expect(await f.contracts.modelRegistry.read.modelIdOf([r.artifactHash, r.weightsRoot, r.graphRoot, r.specHash])).toBe(modelIdOf(r))
    }
  })

  it('test_register_wrongGraphRoot_namesAnotherId_succeeds', async () => {
    await sender(1).write({ ...m(), functionName: 'register', args: args('http://hub/a', a) })
    // The same artifact with a wrong graph root: a registration of another id, the honest record untouched.
    const wrong = { ...a, graphRoot: id('wrong') }
    const result = await sender(2).write({ ...m(), functionName: 'register', args: args('http://evil/a', wrong) })
    const [event] = parseEventLogs({ abi: f.contracts.modelRegistry.abi, logs: result.receipt.logs, eventName: 'ModelRegistered' })
    expect(event!.args.modelId).toBe(modelIdOf(wrong))
    expect(event!.args.modelId).not.toBe(idA)
    expect(await f.contracts.modelRegistry.read.getModel([idA])).toMatchObject({
      publisher: sender(1).address,
      ...a,
      artifactURI: 'http://hub/a',
    })
  })

  it('test_register_zeroArtifactHashOrGraphRoot_reverts', async () => {
    await expectRevert(
      sender(1).write({ ...m(), functionName: 'register', args: args('u', { ...a, artifactHash: zero }) }),
      'ZeroArtifactHash',
    )
    await expectRevert(sender(1).write({ ...m(), functionName: 'register', args: args('u', { ...a, graphRoot: zero }) }), 'ZeroGraphRoot')
  })

  it('test_register_duplicate_reverts', async () => {
    await sender(1).write({ ...m(), functionName: 'register', args: args('u', a) })
    await expectRevert(sender(2).write({ ...m(), functionName: 'register', args: args('v', a) }), 'ModelAlreadyRegistered', [idA])
  })

  it('test_setArtifactURI_publisher_succeeds_and_other_reverts', async () => {
    await sender(1).write({ ...m(), functionName: 'register', args: args('u', a) })
    await sender(1).write({ ...m(), functionName: 'setArtifactURI', args: [idA, 'ipfs://moved'] })
    expect((await f.contracts.modelRegistry.read.getModel([idA])).artifactURI).toBe('ipfs://moved')
    await expectRevert(sender(2).write({ ...m(), functionName: 'setArtifactURI', args: [idA, 'x'] }), 'NotPublisher', [
      idA,
      sender(1).address,
      sender(2).address,
    ])
  })

  it('test_deprecate_publisher_succeeds_once', async () => {
    await sender(1).write({ ...m(), functionName: 'register', args: args('u', a) })
    await expectRevert(sender(2).write({ ...m(), functionName: 'deprecate', args: [idA] }), 'NotPublisher')
    const result = await sender(1).write({ ...m(), functionName: 'deprecate', args: [idA] })
    expect(
      parseEventLogs({ abi: f.contracts.modelRegistry.abi, logs: result.receipt.logs, eventName: 'ModelDeprecated' })[0]!.args.modelId,
    ).toBe(idA)
    expect(await f.contracts.modelRegistry.read.isActive([idA])).toBe(false)
    await expectRevert(sender(1).write({ ...m(), functionName: 'deprecate', args: [idA] }), 'ModelIsDeprecated')
  })

  it('test_deprecate_unknownModel_reverts', async () => {
    await expectRevert(sender(1).write({ ...m(), functionName: 'deprecate', args: [id('nope')] }), 'UnknownModel', [id('nope')])
    await expect(f.contracts.modelRegistry.read.getModel([id('nope')])).rejects.toThrow('UnknownModel')
  })
})

describe('NodeRegistry', () => {
  const r = () => ({ address: f.book.contracts.nodeRegistry, abi: f.contracts.nodeRegistry.abi }) as const
  const balance = (who: Hex) => f.contracts.token.read.balanceOf([who])
  const register = (i: number, role: number, amount: bigint) =>
    sender(i).write({ ...r(), functionName: 'register', args: [role, `http://op-${i}`, amount] })

  it('test_register_aboveMinimum_succeeds', async () => {
    const before = await balance(sender(1).address)
    const result = await register(1, Role.inference, 1500n * TOKEN)
    expect(await balance(sender(1).address)).toBe(before - 1500n * TOKEN)
    expect(await f.contracts.nodeRegistry.read.getOperator([sender(1).address, Role.inference])).toMatchObject({
      staked: 1500n * TOKEN,
      unbonding: 0n,
      id: 1,
      endpoint: 'http://op-1',
    })
    expect(await f.contracts.nodeRegistry.read.isActive([sender(1).address, Role.inference])).toBe(true)
    expect(await f.contracts.nodeRegistry.read.isActive([sender(1).address, Role.verifier])).toBe(false)
    expect(await f.contracts.nodeRegistry.read.activeId([sender(1).address, Role.inference])).toBe(1)
    expect(await f.contracts.nodeRegistry.read.operatorById([Role.inference, 1])).toBe(sender(1).address)
    expect(await f.contracts.nodeRegistry.read.operatorAt([Role.inference, 0n])).toBe(sender(1).address)
    expect(await f.contracts.nodeRegistry.read.operatorCount([Role.inference])).toBe(1n)
    const events = parseEventLogs({ abi: f.contracts.nodeRegistry.abi, logs: result.receipt.logs })
    expect(events.map((e) => e.eventName)).toEqual(['OperatorRegistered', 'Staked'])
  })

  it('test_register_belowMinimum_reverts', async () => {
    await expectRevert(register(1, Role.verifier, 99n * TOKEN), 'BelowMinimumStake', [Role.verifier, 100n * TOKEN, 99n * TOKEN])
    await expectRevert(register(1, Role.inference, 0n), 'BelowMinimumStake')
  })

  it('test_register_twiceOrInvalidRole_reverts', async () => {
    await register(1, Role.verifier, 100n * TOKEN)
    await expectRevert(register(1, Role.verifier, 100n * TOKEN), 'AlreadyRegistered')
    await expectRevert(register(2, 0, 100n * TOKEN), 'InvalidRole', [0])
    await expect(f.contracts.nodeRegistry.read.operatorById([Role.verifier, 9])).rejects.toThrow('UnknownOperatorId')
  })

  it('test_stake_registered_succeeds_and_unregisteredOrZero_reverts', async () => {
    await register(1, Role.verifier, 100n * TOKEN)
    await sender(1).write({ ...r(), functionName: 'stake', args: [Role.verifier, 50n * TOKEN] })
    expect((await f.contracts.nodeRegistry.read.getOperator([sender(1).address, Role.verifier])).staked).toBe(150n * TOKEN)
    await expectRevert(sender(1).write({ ...r(), functionName: 'stake', args: [Role.verifier, 0n] }), 'ZeroAmount')
    await expectRevert(sender(2).write({ ...r(), functionName: 'stake', args: [Role.verifier, TOKEN] }), 'NotRegistered')
  })

  it('test_setEndpoint_succeeds', async () => {
    await register(1, Role.inference, 1000n * TOKEN)
    await sender(1).write({ ...r(), functionName: 'setEndpoint', args: [Role.inference, 'https://moved'] })
    expect((await f.contracts.nodeRegistry.read.getOperator([sender(1).address, Role.inference])).endpoint).toBe('https://moved')
    await expectRevert(sender(2).write({ ...r(), functionName: 'setEndpoint', args: [Role.inference, 'x'] }), 'NotRegistered')
  })

  it('test_requestUnbond_thenWithdraw_duringUnbonding_reverts_afterDelay_succeeds', async () => {
    await register(1, Role.inference, 1200n * TOKEN)
    await sender(1).write({ ...r(), functionName: 'requestUnbond', args: [Role.inference, 300n * TOKEN] })
    expect(await f.contracts.nodeRegistry.read.isActive([sender(1).address, Role.inference])).toBe(false)
    expect(await f.contracts.nodeRegistry.read.activeId([sender(1).address, Role.inference])).toBe(0)
    await expectRevert(
      sender(1).write({ ...r(), functionName: 'requestUnbond', args: [Role.inference, 901n * TOKEN] }),
      'InsufficientStake',
      [901n * TOKEN, 900n * TOKEN],
    )
    await expectRevert(sender(1).write({ ...r(), functionName: 'withdraw', args: [Role.inference] }), 'StillUnbonding')
    await f.chain.increaseTime(1001)
    const before = await balance(sender(1).address)
    await sender(1).write({ ...r(), functionName: 'withdraw', args: [Role.inference] })
    expect(await balance(sender(1).address)).toBe(before + 300n * TOKEN)
    await expectRevert(sender(1).write({ ...r(), functionName: 'withdraw', args: [Role.inference] }), 'NothingUnbonding')
  })

  it('test_slash_nonSlasher_reverts', async () => {
    await register(1, Role.inference, 1000n * TOKEN)
    await expectRevert(
      sender(2).write({ ...r(), functionName: 'slash', args: [sender(1).address, Role.inference, TOKEN, sender(2).address] }),
      'AccessControlUnauthorizedAccount',
    )
  })

  it('test_slash_takesActiveThenUnbonding_capped_succeeds', async () => {
    await register(1, Role.inference, 1000n * TOKEN)
    await sender(1).write({ ...r(), functionName: 'requestUnbond', args: [Role.inference, 400n * TOKEN] })
    const slasherRole = await f.contracts.nodeRegistry.read.SLASHER_ROLE()
    await sender(0).write({ ...r(), functionName: 'grantRole', args: [slasherRole, sender(3).address] })
    const recipient = sender(4).address
    const before = await balance(recipient)
    await sender(3).write({ ...r(), functionName: 'slash', args: [sender(1).address, Role.inference, 700n * TOKEN, recipient] })
    expect(await f.contracts.nodeRegistry.read.getOperator([sender(1).address, Role.inference])).toMatchObject({
      staked: 0n,
      unbonding: 300n * TOKEN,
    })
    await sender(3).write({ ...r(), functionName: 'slash', args: [sender(1).address, Role.inference, 10_000n * TOKEN, recipient] })
    expect(await f.contracts.nodeRegistry.read.getOperator([sender(1).address, Role.inference])).toMatchObject({
      staked: 0n,
      unbonding: 0n,
    })
    expect(await balance(recipient)).toBe(before + 1000n * TOKEN)
    expect(await balance(f.book.contracts.nodeRegistry)).toBe(0n)
  })

  it('test_views_minStakeAndVersion_succeeds', async () => {
    expect(await f.contracts.nodeRegistry.read.minStake([Role.inference])).toBe(1000n * TOKEN)
    expect(await f.contracts.nodeRegistry.read.minStake([Role.verifier])).toBe(100n * TOKEN)
    expect(await f.contracts.nodeRegistry.read.unbondingDelay()).toBe(1000n)
    expect(await f.contracts.token.read.version()).toBe('1.0.0')
    // activeStake added to the registry; channels, data challenges and staked attestations in Settlement.
    expect(await f.contracts.nodeRegistry.read.version()).toBe('1.2.0')
    expect(await f.contracts.settlement.read.version()).toBe('5.0.0')
    expect(await f.contracts.modelRegistry.read.version()).toBe('2.0.0')
    expect(await f.contracts.token.read.symbol()).toBe('VRT')
    expect(await f.contracts.token.read.totalSupply()).toBe(10n ** 9n * TOKEN)
  })
})
