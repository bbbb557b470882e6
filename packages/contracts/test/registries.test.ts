import { TxSender } from '@verity/chain'
import { type Hex, keccak256, parseEventLogs, toHex } from 'viem'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { Role } from '../src/index.js'
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

describe('ModelRegistry', () => {
  const m = () => ({ address: f.book.contracts.modelRegistry, abi: f.contracts.modelRegistry.abi }) as const

  it('test_register_newModel_succeeds', async () => {
    const publisher = sender(1)
    const result = await publisher.write({ ...m(), functionName: 'register', args: [id('a'), 'http://hub/a', id('w'), id('g'), id('s')] })
    const [event] = parseEventLogs({ abi: f.contracts.modelRegistry.abi, logs: result.receipt.logs, eventName: 'ModelRegistered' })
    expect(event!.args).toEqual({
      modelId: id('a'),
      publisher: publisher.address,
      weightsRoot: id('w'),
      graphRoot: id('g'),
      specHash: id('s'),
      artifactURI: 'http://hub/a',
    })
    expect(await f.contracts.modelRegistry.read.getModel([id('a')])).toMatchObject({
      publisher: publisher.address,
      deprecated: false,
      weightsRoot: id('w'),
      artifactURI: 'http://hub/a',
    })
    expect(await f.contracts.modelRegistry.read.isActive([id('a')])).toBe(true)
    expect(await f.contracts.modelRegistry.read.modelCount()).toBe(1n)
    expect(await f.contracts.modelRegistry.read.modelIdAt([0n])).toBe(id('a'))
  })

  it('test_register_zeroIdOrRoot_reverts', async () => {
    await expectRevert(
      sender(1).write({ ...m(), functionName: 'register', args: [`0x${'00'.repeat(32)}`, 'u', id('w'), id('g'), id('s')] }),
      'ZeroModelId',
    )
    await expectRevert(
      sender(1).write({ ...m(), functionName: 'register', args: [id('a'), 'u', id('w'), `0x${'00'.repeat(32)}`, id('s')] }),
      'ZeroGraphRoot',
    )
  })

  it('test_register_duplicate_reverts', async () => {
    await sender(1).write({ ...m(), functionName: 'register', args: [id('a'), 'u', id('w'), id('g'), id('s')] })
    await expectRevert(
      sender(2).write({ ...m(), functionName: 'register', args: [id('a'), 'v', id('w'), id('g'), id('s')] }),
      'ModelAlreadyRegistered',
      [id('a')],
    )
  })

  it('test_setArtifactURI_publisher_succeeds_and_other_reverts', async () => {
    await sender(1).write({ ...m(), functionName: 'register', args: [id('a'), 'u', id('w'), id('g'), id('s')] })
    await sender(1).write({ ...m(), functionName: 'setArtifactURI', args: [id('a'), 'ipfs://moved'] })
    expect((await f.contracts.modelRegistry.read.getModel([id('a')])).artifactURI).toBe('ipfs://moved')
    await expectRevert(sender(2).write({ ...m(), functionName: 'setArtifactURI', args: [id('a'), 'x'] }), 'NotPublisher', [
      id('a'),
      sender(1).address,
      sender(2).address,
    ])
  })

  it('test_deprecate_publisher_succeeds_once', async () => {
    await sender(1).write({ ...m(), functionName: 'register', args: [id('a'), 'u', id('w'), id('g'), id('s')] })
    await expectRevert(sender(2).write({ ...m(), functionName: 'deprecate', args: [id('a')] }), 'NotPublisher')
    const result = await sender(1).write({ ...m(), functionName: 'deprecate', args: [id('a')] })
    expect(
      parseEventLogs({ abi: f.contracts.modelRegistry.abi, logs: result.receipt.logs, eventName: 'ModelDeprecated' })[0]!.args.modelId,
    ).toBe(id('a'))
    expect(await f.contracts.modelRegistry.read.isActive([id('a')])).toBe(false)
    await expectRevert(sender(1).write({ ...m(), functionName: 'deprecate', args: [id('a')] }), 'ModelIsDeprecated')
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
    for (const c of [f.contracts.nodeRegistry, f.contracts.modelRegistry, f.contracts.settlement, f.contracts.token])
      expect(await c.read.version()).toBe('1.0.0')
    expect(await f.contracts.token.read.symbol()).toBe('VRT')
    expect(await f.contracts.token.read.totalSupply()).toBe(10n ** 9n * TOKEN)
  })
})
