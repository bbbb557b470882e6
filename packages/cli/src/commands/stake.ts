import { connect, readAddressBook, readKeyFile, TxSender, verityContracts } from '@verity/chain'
import { Role, type RoleName } from '@verity/contracts'
import { formatUnits, parseUnits } from 'viem'
import { UsageError } from '../samples.js'

export type StakeOptions = { role: string; amount: string; endpoint?: string; rpc: string; key: string; addresses: string; json: boolean }
export type UnstakeOptions = {
  role: string
  amount?: string
  withdraw: boolean
  rpc: string
  key: string
  addresses: string
  json: boolean
}

function roleOf(name: string): RoleName {
  if (name !== 'inference' && name !== 'verifier') throw new UsageError('--role must be inference or verifier', { found: name })
  return name
}

function amountOf(text: string): bigint {
  try {
    const amount = parseUnits(text, 18)
    if (amount > 0n) return amount
  } catch {}
  throw new UsageError('--amount must be a positive number of tokens (up to 18 decimals)', { found: text })
}

async function open(options: { rpc: string; key: string; addresses: string }) {
  const book = readAddressBook(options.addresses)
  const key = readKeyFile(options.key)
  const chain = await connect(options.rpc, { expectedChainId: book.chainId, pollingInterval: 250 })
  return { book, chain, sender: new TxSender({ chain, account: key }), contracts: verityContracts(chain, book) }
}

/** `verity stake`: registers the key's account in a role (first time, with --endpoint) or adds stake. */
export async function stake(options: StakeOptions): Promise<void> {
  const role = roleOf(options.role)
  const amount = amountOf(options.amount)
  const { book, sender, contracts } = await open(options)
  const registry = { address: book.contracts.nodeRegistry, abi: contracts.nodeRegistry.abi } as const
  const before = await contracts.nodeRegistry.read.getOperator([sender.address, Role[role]])
  if (before.id === 0 && !options.endpoint) throw new UsageError(`${sender.address} is not registered as ${role} yet: give its --endpoint`)
  const allowance = await contracts.token.read.allowance([sender.address, book.contracts.nodeRegistry])
  if (allowance < amount) {
    await sender.write({
      address: book.contracts.token,
      abi: contracts.token.abi,
      functionName: 'approve',
      args: [book.contracts.nodeRegistry, amount],
    })
  }
  const result =
    before.id === 0
      ? await sender.write({ ...registry, functionName: 'register', args: [Role[role], options.endpoint!, amount] })
      : await sender.write({ ...registry, functionName: 'stake', args: [Role[role], amount] })
  const after = await contracts.nodeRegistry.read.getOperator([sender.address, Role[role]])
  const active = await contracts.nodeRegistry.read.isActive([sender.address, Role[role]])
  const summary = {
    operator: sender.address,
    role,
    registered: before.id === 0,
    staked: formatUnits(after.staked, 18),
    active,
    transaction: result.hash,
  }
  if (options.json) return void console.log(JSON.stringify(summary))
  console.log(
    `${before.id === 0 ? 'Registered' : 'Staked'} ${sender.address} as ${role}: ${summary.staked} VRT staked, ${active ? 'active' : 'not active (below the minimum)'}`,
  )
  console.log(`  endpoint     ${after.endpoint}`)
  console.log(`  transaction  ${result.hash} (${result.gasUsed} gas)`)
}

/** `verity unstake`: starts unbonding `--amount`, or with `--withdraw` pays out stake whose delay has passed. */
export async function unstake(options: UnstakeOptions): Promise<void> {
  const role = roleOf(options.role)
  if (options.withdraw === (options.amount !== undefined))
    throw new UsageError('give either --amount (start unbonding) or --withdraw (pay out)')
  const { book, sender, contracts } = await open(options)
  const registry = { address: book.contracts.nodeRegistry, abi: contracts.nodeRegistry.abi } as const
  const result = options.withdraw
    ? await sender.write({ ...registry, functionName: 'withdraw', args: [Role[role]] })
    : await sender.write({ ...registry, functionName: 'requestUnbond', args: [Role[role], amountOf(options.amount!)] })
  const after = await contracts.nodeRegistry.read.getOperator([sender.address, Role[role]])
  const summary = {
    operator: sender.address,
    role,
    staked: formatUnits(after.staked, 18),
    unbonding: formatUnits(after.unbonding, 18),
    withdrawableAt: after.unbonding > 0n ? new Date(after.unbondingReadyAt * 1000).toISOString() : null,
    transaction: result.hash,
  }
  if (options.json) return void console.log(JSON.stringify(summary))
  if (options.withdraw) console.log(`Withdrew the unbonded stake of ${sender.address} (${role}); ${summary.staked} VRT still staked`)
  else
    console.log(
      `Unbonding ${options.amount} VRT of ${sender.address} (${role}); withdrawable from ${summary.withdrawableAt} with --withdraw`,
    )
  console.log(`  transaction  ${result.hash}`)
}
