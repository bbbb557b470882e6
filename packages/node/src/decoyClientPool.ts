import { type AddressBook, type Chain, TxSender } from '@verity/chain'
import {
  eip712Types,
  type InferenceRequest,
  inputsFromWire,
  inputsToWire,
  requestToWire,
  settlementAbi,
  verityDomain,
  verityTokenAbi,
} from '@verity/contracts'
import { type LoadedModel, tensorsHash } from '@verity/runtime'
import { type Address, type Hex, hexToBigInt, toHex } from 'viem'
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts'
import { perturbInput } from './decoyFactory.js'
import type { ReceiptStore } from './receiptStore.js'

/**
 * Decoy clients that look like clients (docs/protocol.md, "Decoys"): single-use keys the node keeps
 * in its store, each funded from the operator's funder account, holding its own escrow in Settlement
 * (its own `approve` and `deposit`, as the SDK does) and aged with a few genuine paid requests through
 * the node's `/v1/infer` ("canaries": real, correct receipts) before it signs one decoy, which
 * continues its channel (`channelTotal` = its last voucher + the fee). Once used it is retired: when
 * its decoy's batch is final, its escrow is withdrawn and its tokens go back to the funder.
 */
export type DecoyClientPoolOptions = {
  chain: Chain
  book: AddressBook
  store: ReceiptStore
  /** The account that pays for the pool: native coin for gas and tokens for escrow (a private key). */
  funder: Hex
  /** Aged clients kept ready (default 4). */
  poolSize?: number
  /** Mean canaries per client; each client draws its own count from [1, 2·canaries − 1] (default 2). */
  canaries?: number
  /** Escrow each client deposits (default 1,000 fees at the node's price). */
  escrow?: bigint
  /** Native coin sent to each client for its approve and deposit (default 0.01 of the coin). */
  gas?: bigint
  /** Tokens each client keeps in its wallet beside its escrow, as a client keeps some for challenge bonds (default 0). */
  walletTokens?: bigint
  /** The node's price (a canary pays it). */
  price: bigint
  node: Address
  domain: { chainId: number; settlement: Hex }
  model(modelId: Hex): Promise<LoadedModel>
  /** Posts a request to the node's own `POST /v1/infer`; throws unless it is answered with a receipt. */
  postInfer(body: string): Promise<void>
  log(line: string): void
}

export type DecoyClientCosts = {
  /** Clients made, ready (aged, unused) and used for a decoy. */
  made: number
  ready: number
  used: number
  /** Used clients whose escrow went back to the funder. */
  recovered: number
  /** Gas of the funder's transfers and the clients' approve and deposit. */
  gasUsed: bigint
  /** Canary receipts and the compute they took (ms, the node's own measure). */
  canaries: number
  canaryComputeMs: number
}

export type DecoyClientPool = {
  /**
   * The client that signs a decoy of the batch `batchKey` (its salt): the one already signing that
   * batch's decoys, else a ready one, retired from then on (durably, on the store's connection, before
   * the decoy is stored) — its account and the channel total the decoy continues. One client per
   * batch, not per decoy: a batch's decoys are all revealed together, so sharing a client among them
   * exposes nothing more, and a batch of 1,024 leaves at 1 % needs one client, not 11. Undefined when
   * none is ready.
   */
  take(fee: bigint, batchKey: Hex): { account: PrivateKeyAccount; channelTotal: bigint } | undefined
  /** One step of upkeep (make, fund, deposit for or age one client); false when there was nothing to do. */
  step(): Promise<boolean>
  start(intervalMs?: number): void
  stop(): Promise<void>
  costs(): DecoyClientCosts
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS decoy_clients (
  address TEXT PRIMARY KEY,
  key TEXT NOT NULL,
  canaries INTEGER NOT NULL,
  state TEXT NOT NULL,
  gas_used TEXT NOT NULL DEFAULT '0',
  created_at_ms INTEGER NOT NULL,
  batch_key TEXT
);
`

type ClientRow = {
  address: Hex
  key: Hex
  canaries: number
  state: 'aging' | 'ready' | 'used' | 'withdrawing' | 'recovered'
  gas_used: string
  /** The salt of the batch whose decoys it signs (set when it is taken). */
  batch_key: Hex | null
}

/** One sender per funder account and chain in this process: the nodes of a devnet share a funder. */
const funders = new Map<string, TxSender>()
function funderSender(chain: Chain, key: Hex): TxSender {
  const id = `${chain.rpcUrl} ${privateKeyToAccount(key).address}`
  let sender = funders.get(id)
  if (!sender) {
    sender = new TxSender({ chain, account: key })
    funders.set(id, sender)
  }
  return sender
}

export function createDecoyClientPool(o: DecoyClientPoolOptions): DecoyClientPool {
  const { chain, book, store } = o
  const db = store.db
  db.exec(SCHEMA)
  if (!(db.prepare('PRAGMA table_info(decoy_clients)').all() as { name: string }[]).some((c) => c.name === 'batch_key'))
    db.exec('ALTER TABLE decoy_clients ADD COLUMN batch_key TEXT')
  const poolSize = o.poolSize ?? 4
  const canaries = Math.max(1, o.canaries ?? 2)
  const escrow = o.escrow ?? 1000n * o.price
  const gas = o.gas ?? 10n ** 16n
  const walletTokens = o.walletTokens ?? 0n
  const funder = funderSender(chain, o.funder)
  const tokenAbi = verityTokenAbi
  let timer: NodeJS.Timeout | undefined
  let running: Promise<unknown> | undefined

  const rows = (state: ClientRow['state']) =>
    db.prepare('SELECT * FROM decoy_clients WHERE state = ? ORDER BY created_at_ms, address').all(state) as ClientRow[]
  const addGas = (address: Hex, used: bigint) => {
    const row = db.prepare('SELECT gas_used FROM decoy_clients WHERE address = ?').get(address) as { gas_used: string }
    db.prepare('UPDATE decoy_clients SET gas_used = ? WHERE address = ?').run((BigInt(row.gas_used) + used).toString(), address)
  }
  /** The client's receipts at this node (its canaries): counted from the store, so a restart resumes. */
  /** A decoy client's wallet balance of the fee token. */
  const tokensOf = (address: Hex) =>
    chain.publicClient.readContract({ address: book.contracts.token, abi: tokenAbi, functionName: 'balanceOf', args: [address] })
  /** A decoy client's escrow in Settlement (balance, and any withdrawal requested). */
  const escrowOf = (address: Hex) =>
    chain.publicClient.readContract({ address: book.contracts.settlement, abi: settlementAbi, functionName: 'escrowOf', args: [address] })
  const canariesDone = (address: Hex) =>
    (db.prepare('SELECT COUNT(*) AS n FROM inferences WHERE client = ? AND decoy_secret IS NULL').get(address) as { n: number }).n

  /**
   * A canary: a one-value variation of a recent real input, signed by the client, through `/v1/infer`.
   * Made only while the open batch holds a real client's receipt: a batch of canaries alone would need
   * a decoy, whose client's replacement would make canaries, and so on — an idle node would fund
   * clients forever. So canaries ride along with real traffic, and an idle node makes none.
   */
  async function canary(client: ClientRow): Promise<boolean> {
    const realTraffic = db
      .prepare(
        `SELECT 1 FROM inferences WHERE batch_local IS NULL AND decoy_secret IS NULL
           AND client NOT IN (SELECT address FROM decoy_clients) LIMIT 1`,
      )
      .get()
    if (!realTraffic) return false
    const template = db
      .prepare(
        `SELECT model_id, input_hash, mode FROM inferences WHERE decoy_secret IS NULL
           AND client NOT IN (SELECT address FROM decoy_clients) ORDER BY seq DESC LIMIT 8`,
      )
      .all() as { model_id: Hex; input_hash: Hex; mode: number }[]
    if (template.length === 0) return false // no real traffic yet: nothing to look like
    const draw = toHex(crypto.getRandomValues(new Uint8Array(32)))
    const pick = template[Number(hexToBigInt(draw) % BigInt(template.length))]!
    const body = store.getInput(pick.input_hash)
    if (body === undefined) return false
    const model = await o.model(pick.model_id)
    const inputs = perturbInput(inputsFromWire(model, JSON.parse(body)), draw)
    const account = privateKeyToAccount(client.key)
    const request: InferenceRequest = {
      modelId: pick.model_id,
      inputHash: tensorsHash(inputs),
      node: o.node,
      mode: pick.mode,
      maxFee: o.price,
      nonce: crypto.getRandomValues(new BigUint64Array(1))[0]!,
      deadline: BigInt(Math.floor(Date.now() / 1000) + 60),
      channelTotal: store.channel(client.address).authorized + o.price,
    }
    const signature = await account.signTypedData({
      domain: verityDomain(o.domain),
      types: eip712Types,
      primaryType: 'InferenceRequest',
      message: request,
    })
    // The body a client's SDK sends, its signer named.
    await o.postInfer(
      JSON.stringify({ request: requestToWire(request), signature, inputs: inputsToWire(model, inputs), client: client.address }),
    )
    return true
  }

  /** Funds, deposits for or ages `client` by one action; marks it ready once aged. */
  async function advance(client: ClientRow): Promise<boolean> {
    const address = client.address
    const [coin, available] = await Promise.all([
      chain.publicClient.getBalance({ address }),
      chain.publicClient.readContract({
        address: book.contracts.settlement,
        abi: settlementAbi,
        functionName: 'availableEscrow',
        args: [address],
      }),
    ])
    if (available < escrow) {
      if (coin < gas / 2n) {
        addGas(address, (await funder.sendValue(address, gas)).gasUsed)
        return true
      }
      const tokens = await tokensOf(address)
      if (tokens < escrow - available + walletTokens) {
        const sent = await funder.write({
          address: book.contracts.token,
          abi: tokenAbi,
          functionName: 'transfer',
          args: [address, escrow - available + walletTokens - tokens],
        })
        addGas(address, sent.gasUsed)
        return true
      }
      // Its own approve and deposit, as the SDK's `depositEscrow` does.
      const own = new TxSender({ chain, account: client.key })
      const approved = await own.write({
        address: book.contracts.token,
        abi: tokenAbi,
        functionName: 'approve',
        args: [book.contracts.settlement, escrow - available],
      })
      const deposited = await own.write({
        address: book.contracts.settlement,
        abi: settlementAbi,
        functionName: 'deposit',
        args: [escrow - available],
      })
      addGas(address, approved.gasUsed + deposited.gasUsed)
      return true
    }
    if (canariesDone(address) < client.canaries) return canary(client)
    db.prepare("UPDATE decoy_clients SET state = 'ready' WHERE address = ? AND state = 'aging'").run(address)
    o.log(`decoy client ${address} ready (${client.canaries} canaries)`)
    return true
  }

  async function step(): Promise<boolean> {
    const aging = rows('aging')
    if (aging.length + rows('ready').length < poolSize) {
      const key = generatePrivateKey()
      // Its own number of canaries, so a client's history length says nothing about when its decoy comes.
      const count = 1 + Number(hexToBigInt(toHex(crypto.getRandomValues(new Uint8Array(8)))) % BigInt(2 * canaries - 1))
      db.prepare("INSERT INTO decoy_clients (address, key, canaries, state, created_at_ms) VALUES (?, ?, ?, 'aging', ?)").run(
        privateKeyToAccount(key).address.toLowerCase(),
        key,
        count,
        Date.now(),
      )
      return true
    }
    for (const client of aging) if (await advance(client)) return true
    for (const client of [...rows('used'), ...rows('withdrawing')]) if (await recover(client)) return true
    return false
  }

  /**
   * Gives a used client's escrow back to the funder once its decoy is exposed anyway (its batch
   * finalized, the salt revealed) and the node has redeemed its canaries: `requestWithdrawal`, then
   * after `escrowWithdrawalDelay` its `withdraw` and a transfer of its tokens to the funder.
   */
  async function recover(client: ClientRow): Promise<boolean> {
    const address = client.address
    const own = new TxSender({ chain, account: client.key })
    if (client.state === 'used') {
      // Every decoy it signed (one batch's) final, and at least one.
      const decoy = db
        .prepare(
          `SELECT COUNT(*) AS n, SUM(CASE WHEN b.status = 'finalized' THEN 1 ELSE 0 END) AS final
             FROM inferences i LEFT JOIN batches b ON b.local_id = i.batch_local WHERE i.client = ? AND i.decoy_secret IS NOT NULL`,
        )
        .get(address) as { n: number; final: number | null }
      const canary = db
        .prepare('SELECT MAX(channel_total) AS total FROM inferences WHERE client = ? AND decoy_secret IS NULL')
        .get(address) as { total: string | null }
      // No decoy left: its batch was cut smaller and its decoys dropped (once that batch is no longer the open one).
      const settled = decoy.n === 0 ? client.batch_key !== null && client.batch_key !== store.openBatchSalt() : decoy.final === decoy.n
      if (!settled || store.channel(address).paid < BigInt(canary.total ?? '0')) return false
      const { balance } = await escrowOf(address)
      if (balance > 0n) {
        const requested = await own.write({
          address: book.contracts.settlement,
          abi: settlementAbi,
          functionName: 'requestWithdrawal',
          args: [balance],
        })
        addGas(address, requested.gasUsed)
      }
      db.prepare("UPDATE decoy_clients SET state = 'withdrawing' WHERE address = ?").run(address)
      return true
    }
    const escrowed = await escrowOf(address)
    if (escrowed.withdrawalAmount > 0n) {
      const latest = await chain.publicClient.getBlock({ blockTag: 'latest' })
      if (latest.timestamp < BigInt(escrowed.withdrawalReadyAt)) return false
      addGas(
        address,
        (await own.write({ address: book.contracts.settlement, abi: settlementAbi, functionName: 'withdraw', args: [] })).gasUsed,
      )
      return true
    }
    const tokens = await tokensOf(address)
    if (tokens > 0n) {
      const back = await own.write({
        address: book.contracts.token,
        abi: tokenAbi,
        functionName: 'transfer',
        args: [funder.address, tokens],
      })
      addGas(address, back.gasUsed)
    }
    db.prepare("UPDATE decoy_clients SET state = 'recovered' WHERE address = ?").run(address)
    o.log(`decoy client ${address} retired: ${tokens} token units back to the funder`)
    return true
  }

  return {
    take(fee, batchKey) {
      const client =
        (db.prepare("SELECT * FROM decoy_clients WHERE batch_key = ? AND state = 'used'").get(batchKey) as ClientRow | undefined) ??
        rows('ready')[0]
      if (!client) return undefined
      db.prepare("UPDATE decoy_clients SET state = 'used', batch_key = ? WHERE address = ?").run(batchKey, client.address)
      return { account: privateKeyToAccount(client.key), channelTotal: store.channel(client.address).authorized + fee }
    },
    step,
    start(intervalMs = 200) {
      const loop = async () => {
        running = (async () => {
          // Work back to back while there is some; then wait for the next interval.
          for (let i = 0; i < 20 && timer !== undefined && (await step()); i++);
        })().catch((error) => o.log(`decoy clients: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`))
        await running
        if (timer !== undefined) timer = setTimeout(loop, intervalMs)
      }
      timer = setTimeout(loop, 0)
    },
    async stop() {
      if (timer) clearTimeout(timer)
      timer = undefined
      await running
    },
    costs() {
      const all = db.prepare('SELECT state, gas_used FROM decoy_clients').all() as Pick<ClientRow, 'state' | 'gas_used'>[]
      const canary = db
        .prepare(
          `SELECT COUNT(*) AS n, COALESCE(SUM(compute_ms), 0) AS ms FROM inferences
             WHERE decoy_secret IS NULL AND client IN (SELECT address FROM decoy_clients)`,
        )
        .get() as { n: number; ms: number }
      return {
        made: all.length,
        ready: all.filter((c) => c.state === 'ready').length,
        used: all.filter((c) => c.state === 'used' || c.state === 'withdrawing' || c.state === 'recovered').length,
        recovered: all.filter((c) => c.state === 'recovered').length,
        gasUsed: all.reduce((sum, c) => sum + BigInt(c.gas_used), 0n),
        canaries: canary.n,
        canaryComputeMs: canary.ms,
      }
    },
  }
}
