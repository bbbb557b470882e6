import { type AddressBook, type Chain, type EventFollower, followEvents } from '@verity/chain'
import { disputeGameAbi, nodeRegistryAbi, settlementAbi } from '@verity/contracts'
import { BATCH_FETCH_LIMITS, buildBatchTree, fetchJson, hashReceipt, receiptFromWire } from '@verity/protocol'
import { decodeArtifact, modelCost } from '@verity/runtime'
import type { Hex, Log } from 'viem'
import { IndexStore } from './indexStore.js'
import { computeMsOf, operatorFeeds } from './operatorFeeds.js'
import { applyAttestations, applyDecoys, finalizeReceipts, refreshDisputes } from './receiptFacts.js'
import { registeredArtifact } from './registeredArtifact.js'

export type IndexerOptions = {
  chain: Chain
  book: AddressBook
  dbPath: string
  pollIntervalMs?: number
  /**
   * A model's artifact bytes, checked against its registration (default: `registeredArtifact`, the
   * SDK's bounded loader): the index prices each model's runs by `modelCost` of its graph.
   */
  artifact?(modelId: Hex): Promise<Uint8Array>
  log?(line: string): void
}

/** How long a model whose artifact could not be loaded waits before the next try. */
const MODEL_RETRY_MS = 30_000

export type Indexer = {
  store: IndexStore
  start(): void
  stop(): Promise<void>
  /** Resolves once everything up to the chain's current head is indexed (tests and tools). */
  caughtUp(): Promise<void>
}

const abi = [...settlementAbi, ...disputeGameAbi, ...nodeRegistryAbi] as const

/**
 * Follows the Settlement, DisputeGame and NodeRegistry events into SQLite, and fetches each
 * committed batch's receipts from the node that committed it (its `dataURI`), checking that they
 * hash to the committed root. Each receipt then gets the chain time it reached each trust level.
 * Also follows the registered operators' APIs (`operatorFeeds`): receipts as soon as they are signed,
 * and the verifiers' re-executions with their compute time. Prices each model's run once by
 * `modelCost` of its registered artifact (the weights of the verification ratio). Resumable (cursors
 * in the database) and idempotent.
 */
export function createIndexer(options: IndexerOptions): Indexer {
  const { chain, book } = options
  const log = options.log ?? (() => {})
  const store = new IndexStore(options.dbPath)
  const domain = { chainId: chain.chainId, settlement: book.contracts.settlement }
  const blockTimes = new Map<bigint, number>()
  const gasOf = new Map<Hex, number>()
  let follower: EventFollower | undefined
  let fetchTimer: NodeJS.Timeout | undefined
  let lastIndexed = 0n
  /** Completed passes of the fetch loop (batches' receipts, then the operators' APIs). */
  let passes = 0
  /** The models being priced, if any (one round at a time). */
  let pricing: Promise<void> | undefined
  const pollOperators = operatorFeeds({ store, domain, log })
  const artifact = options.artifact ?? registeredArtifact(chain, book)
  /** Settlement's immutable decoy rate, read once: with a revealed salt it places a batch's decoys. */
  let decoyRate: Promise<number> | undefined
  const decoyRateBps = () => {
    decoyRate ??= chain.publicClient
      .readContract({ address: book.contracts.settlement, abi: settlementAbi, functionName: 'decoyRateBps' })
      .then(Number)
      .catch((error) => {
        decoyRate = undefined
        throw error
      })
    return decoyRate
  }
  // The EIP-712 domain, for the page's own check of a receipt's signature and inclusion proof.
  store.setMeta('chain_id', String(chain.chainId))
  store.setMeta('settlement', book.contracts.settlement)

  const timeOf = async (blockNumber: bigint) => {
    let t = blockTimes.get(blockNumber)
    if (t === undefined) {
      t = Number((await chain.publicClient.getBlock({ blockNumber })).timestamp) * 1000
      blockTimes.set(blockNumber, t)
      if (blockTimes.size > 10_000) blockTimes.delete(blockTimes.keys().next().value!)
    }
    return t
  }
  const gas = async (hash: Hex) => {
    let g = gasOf.get(hash)
    if (g === undefined) {
      g = Number((await chain.publicClient.getTransactionReceipt({ hash })).gasUsed)
      gasOf.set(hash, g)
      if (gasOf.size > 10_000) gasOf.delete(gasOf.keys().next().value!)
    }
    return g
  }

  async function onEvent(event: Log & { eventName: string; args: Record<string, unknown> }): Promise<void> {
    const at = await timeOf(event.blockNumber!)
    const a = event.args
    const settlement = event.address.toLowerCase() === book.contracts.settlement.toLowerCase()
    switch (event.eventName) {
      case 'BatchCommitted':
        store.run(
          `INSERT OR IGNORE INTO batches (batch_id, node, root, count, fee, data_uri, committed_at_ms, gas) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          Number(a.batchId),
          String(a.node).toLowerCase(),
          a.root,
          Number(a.count),
          String(a.feeTotal),
          a.dataURI,
          at,
          await gas(event.transactionHash!),
        )
        break
      case 'Attested': {
        const batchId = Number(a.batchId)
        const bitmap = (a.bitmap as bigint[]).map(String)
        store.run(
          'INSERT OR IGNORE INTO attestations (batch_id, verifier, receipts, bitmap, at_ms, gas) VALUES (?, ?, ?, ?, ?, ?)',
          batchId,
          String(a.verifier).toLowerCase(),
          Number(a.receipts),
          JSON.stringify(bitmap),
          at,
          await gas(event.transactionHash!),
        )
        applyAttestations(store, batchId)
        break
      }
      case 'Redeemed':
        // Money moves here: a node redeems its client's voucher (docs/protocol.md, "Money").
        store.run(
          'INSERT OR IGNORE INTO redemptions (block, log_index, client, node, debited, at_ms) VALUES (?, ?, ?, ?, ?, ?)',
          Number(event.blockNumber),
          event.logIndex!,
          String(a.client).toLowerCase(),
          String(a.node).toLowerCase(),
          String(a.debited),
          at,
        )
        break
      case 'DecoysRevealed':
        store.run('UPDATE batches SET decoy_salt = ? WHERE batch_id = ?', a.salt, Number(a.batchId))
        applyDecoys(store, Number(a.batchId), await decoyRateBps())
        break
      case 'BatchFinalized':
        store.run(
          'UPDATE batches SET finalized_at_ms = ?, paid = ?, gas = gas + ? WHERE batch_id = ? AND finalized_at_ms IS NULL',
          at,
          String((a.nodeAmount as bigint) + (a.verifierAmount as bigint)),
          await gas(event.transactionHash!),
          Number(a.batchId),
        )
        finalizeReceipts(store, Number(a.batchId), at)
        break
      case 'ChallengeOpened':
        store.run(
          `INSERT OR IGNORE INTO challenges (challenge_id, batch_id, idx, challenger, bond, opened_at_ms, status) VALUES (?, ?, ?, ?, ?, ?, 'open')`,
          Number(a.challengeId),
          Number(a.batchId),
          Number(a.receiptIndex),
          String(a.challenger).toLowerCase(),
          String(a.bond),
          at,
        )
        refreshDisputes(store, Number(a.batchId), Number(a.receiptIndex))
        break
      case 'ReceiptOverturned':
        store.run(
          `UPDATE challenges SET status = 'upheld', resolved_at_ms = ?, refund = ?, slashed = ?, bounty = ? WHERE challenge_id = ?`,
          at,
          String(a.refund),
          String(a.slashed),
          String(a.bounty),
          Number(a.challengeId),
        )
        refreshDisputes(store, Number(a.batchId), Number(a.receiptIndex))
        break
      case 'ChallengeRejected':
      case 'ChallengeRedundant':
      case 'ChallengeExpired': {
        const status =
          event.eventName === 'ChallengeRejected' ? 'rejected' : event.eventName === 'ChallengeRedundant' ? 'redundant' : 'expired'
        store.run('UPDATE challenges SET status = ?, resolved_at_ms = ? WHERE challenge_id = ?', status, at, Number(a.challengeId))
        const challenge = store.get<{ batch_id: number; idx: number }>(
          'SELECT batch_id, idx FROM challenges WHERE challenge_id = ?',
          Number(a.challengeId),
        )
        if (challenge) refreshDisputes(store, challenge.batch_id, challenge.idx)
        break
      }
      case 'InclusionProven':
      case 'InclusionExpired':
        store.run(
          'INSERT OR IGNORE INTO inclusion_refunds (challenge_id, refund, at_ms) VALUES (?, ?, ?)',
          Number(a.challengeId),
          String(a.refund),
          at,
        )
        break
      case 'GameOpened':
        store.run(
          'INSERT OR IGNORE INTO games (game_id, node, challenger, model_id, opened_at_ms) VALUES (?, ?, ?, ?, ?)',
          Number(a.gameId),
          String(a.node).toLowerCase(),
          String(a.challenger).toLowerCase(),
          a.modelId,
          at,
        )
        break
      case 'TracePosted':
      case 'Revealed':
      case 'Chosen':
      case 'OpSelected':
      case 'ChunkRevealed':
      case 'SumDisputed':
      case 'SumPosted':
      case 'SumChosen':
        store.run(
          'UPDATE games SET moves = moves + 1, gas = gas + ? WHERE game_id = ?',
          await gas(event.transactionHash!),
          Number(a.gameId),
        )
        break
      case 'GameResolved':
        store.run(
          'UPDATE games SET resolved_at_ms = ?, node_lost = ?, reason = ?, moves = moves + 1, gas = gas + ? WHERE game_id = ? AND resolved_at_ms IS NULL',
          at,
          a.nodeLost ? 1 : 0,
          Number(a.reason),
          await gas(event.transactionHash!),
          Number(a.gameId),
        )
        break
      case 'OperatorRegistered':
        store.run(
          'INSERT OR IGNORE INTO operators (address, role, endpoint, registered_at_ms) VALUES (?, ?, ?, ?)',
          String(a.operator).toLowerCase(),
          Number(a.role),
          a.endpoint,
          at,
        )
        break
      case 'Staked':
        store.run(
          'UPDATE operators SET staked = ? WHERE address = ? AND role = ?',
          String(a.staked),
          String(a.operator).toLowerCase(),
          Number(a.role),
        )
        break
      case 'UnbondRequested':
      case 'Slashed':
        if (settlement) break
        await refreshOperator(String(a.operator).toLowerCase(), Number(a.role), event.eventName === 'Slashed' ? (a.amount as bigint) : 0n)
        break
    }
  }

  /** Re-reads an operator's active stake from the registry (after an unbond or a slash) and adds up its slashes. */
  async function refreshOperator(address: string, role: number, slashed: bigint) {
    const op = await chain.publicClient.readContract({
      address: book.contracts.nodeRegistry,
      abi: nodeRegistryAbi,
      functionName: 'getOperator',
      args: [address as Hex, role],
    })
    const row = store.get<{ slashed: string }>('SELECT slashed FROM operators WHERE address = ? AND role = ?', address, role)
    store.run(
      'UPDATE operators SET staked = ?, slashed = ? WHERE address = ? AND role = ?',
      String(op.staked),
      String(BigInt(row?.slashed ?? '0') + slashed),
      address,
      role,
    )
  }

  /**
   * Fetches the receipts of committed batches not yet fetched from their nodes, all at once (each
   * fetch bounded): a node that holds its batch open delays no other node's batch.
   */
  async function fetchBatches() {
    const pending = store.all<{
      batch_id: number
      root: Hex
      count: number
      data_uri: string
      committed_at_ms: number
      node: string
      finalized_at_ms: number | null
    }>('SELECT * FROM batches WHERE fetched = 0 ORDER BY batch_id LIMIT 20')
    await Promise.all(pending.map((b) => fetchBatch(b)))
  }

  async function fetchBatch(b: { batch_id: number; root: Hex; count: number; data_uri: string; node: string }) {
    try {
      const data = (await fetchJson(b.data_uri, BATCH_FETCH_LIMITS)) as {
        receipts: { receipt: unknown; signature?: unknown; computeMs?: unknown }[]
        decoyCommit?: unknown
      }
      const decoyCommit = data.decoyCommit
      if (typeof decoyCommit !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(decoyCommit))
        throw new Error(`batch ${b.batch_id}: no decoy commitment (bytes32) served beside the receipts`)
      const receipts = data.receipts.map((r, i) => receiptFromWire(r.receipt, `receipts[${i}]`))
      const ids = receipts.map((r) => hashReceipt(r, domain))
      if (receipts.length !== b.count) throw new Error(`batch ${b.batch_id}: ${receipts.length} receipts served for ${b.count} committed`)
      // Only the receipts the batch committed to: they must rebuild its on-chain root (a node
      // serving other receipts, e.g. another node's, would otherwise take them over).
      const root = buildBatchTree(ids, decoyCommit as Hex).root
      if (root.toLowerCase() !== b.root.toLowerCase())
        throw new Error(`batch ${b.batch_id}: the served receipts hash to root ${root}, not the committed ${b.root}`)
      store.transaction(() => {
        // Read now, inside the transaction: the batch may have been finalized while its receipts were fetched.
        const now = store.get<{ committed_at_ms: number; finalized_at_ms: number | null }>(
          'SELECT committed_at_ms, finalized_at_ms FROM batches WHERE batch_id = ?',
          b.batch_id,
        )!
        for (const [i, r] of receipts.entries()) {
          // The receipt may be indexed already from its node's API (EXECUTED): now it has its place in a committed batch.
          store.run(
            `INSERT INTO inferences (id, batch_id, idx, node, client, model_id, fee, mode, receipt_json, signature, executed_at_ms, compute_ms, committed_at_ms, final_at_ms)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (id) DO UPDATE SET batch_id = excluded.batch_id, idx = excluded.idx, committed_at_ms = excluded.committed_at_ms,
                 signature = COALESCE(inferences.signature, excluded.signature),
                 final_at_ms = COALESCE(inferences.final_at_ms, excluded.final_at_ms), compute_ms = COALESCE(inferences.compute_ms, excluded.compute_ms)`,
            ids[i]!.toLowerCase(),
            b.batch_id,
            i,
            b.node,
            r.client.toLowerCase(),
            r.modelId,
            String(r.fee),
            r.mode,
            JSON.stringify(data.receipts[i]!.receipt),
            typeof data.receipts[i]!.signature === 'string' ? data.receipts[i]!.signature : null,
            Number(r.issuedAt) * 1000,
            computeMsOf(data.receipts[i]!.computeMs),
            now.committed_at_ms,
            now.finalized_at_ms,
          )
        }
        store.run('UPDATE batches SET fetched = 1, fetch_error = NULL, decoy_commit = ? WHERE batch_id = ?', decoyCommit, b.batch_id)
      })
      // Events about these receipts may have arrived before the receipts themselves.
      applyAttestations(store, b.batch_id)
      applyDecoys(store, b.batch_id, await decoyRateBps())
      for (const c of store.all<{ idx: number }>('SELECT DISTINCT idx FROM challenges WHERE batch_id = ?', b.batch_id)) {
        refreshDisputes(store, b.batch_id, c.idx)
      }
    } catch (error) {
      store.run('UPDATE batches SET fetch_error = ? WHERE batch_id = ?', error instanceof Error ? error.message : String(error), b.batch_id)
      log(`indexer: batch ${b.batch_id}: ${error instanceof Error ? error.message : String(error)}`)
    }
  }

  /**
   * Prices the models of indexed receipts not priced yet: the artifact from its registered URI
   * (bounded, checked against the registered hash), decoded, `modelCost` of its graph. A model whose
   * artifact cannot be had is retried after MODEL_RETRY_MS; its receipts are left out of the ratio.
   */
  async function priceModels() {
    const now = Date.now()
    const unpriced = store.all<{ model_id: string }>(
      `SELECT a.model_id FROM agg_models a LEFT JOIN models m ON m.model_id = a.model_id
       WHERE m.model_id IS NULL OR (m.cost IS NULL AND m.tried_at_ms < ?) LIMIT 8`,
      now - MODEL_RETRY_MS,
    )
    for (const { model_id } of unpriced) {
      let cost: string | null = null
      let error: string | null = null
      try {
        cost = modelCost(decodeArtifact(await artifact(model_id as Hex))).toString()
      } catch (e) {
        error = e instanceof Error ? e.message.split('\n')[0]! : String(e)
        log(`indexer: model ${model_id}: ${error}`)
      }
      store.run(
        `INSERT INTO models (model_id, cost, error, tried_at_ms) VALUES (?, ?, ?, ?)
         ON CONFLICT (model_id) DO UPDATE SET cost = excluded.cost, error = excluded.error, tried_at_ms = excluded.tried_at_ms`,
        model_id,
        cost,
        error,
        now,
      )
    }
  }

  return {
    store,
    start() {
      follower = followEvents({
        chain,
        abi,
        address: [book.contracts.settlement, book.contracts.disputeGame, book.contracts.nodeRegistry],
        fromBlock: book.deployedAtBlock,
        pollIntervalMs: options.pollIntervalMs ?? (chain.kind === 'embedded' ? 200 : 1000),
        cursor: {
          load: () => ((v) => (v === undefined ? undefined : BigInt(v)))(store.getMeta('cursor')),
          save: (block) => store.setMeta('cursor', block.toString()),
        },
        onError: (error) => log(`indexer: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`),
        async onLogs(logs, range) {
          for (const event of logs) await onEvent(event as never)
          lastIndexed = range.toBlock
        },
      })
      const loop = async () => {
        await fetchBatches().catch((error) => log(`indexer: ${(error as Error).message}`))
        await pollOperators().catch((error) => log(`indexer: ${(error as Error).message}`))
        // Off the loop: a model's artifact may take its loader's whole timeout to arrive (or not).
        pricing ??= priceModels()
          .catch((error) => log(`indexer: ${(error as Error).message}`))
          .finally(() => {
            pricing = undefined
          })
        passes++
        if (fetchTimer !== undefined) fetchTimer = setTimeout(loop, options.pollIntervalMs ?? 500)
      }
      fetchTimer = setTimeout(loop, 0)
    },
    async caughtUp() {
      const head = await chain.publicClient.getBlockNumber()
      while (lastIndexed < head || store.get<{ n: number }>('SELECT COUNT(*) AS n FROM batches WHERE fetched = 0')!.n > 0) {
        await new Promise((r) => setTimeout(r, 100))
      }
      // And one whole pass over the operators' APIs that started after the chain was caught up.
      const target = passes + 2
      while (passes < target) await new Promise((r) => setTimeout(r, 50))
      // And every model of an indexed receipt tried once (priced, or its failure recorded).
      const untried = () =>
        store.get<{ n: number }>(
          'SELECT COUNT(*) AS n FROM agg_models a LEFT JOIN models m ON m.model_id = a.model_id WHERE m.model_id IS NULL',
        )!.n
      while (pricing || untried() > 0) await (pricing ?? new Promise((r) => setTimeout(r, 50)))
    },
    async stop() {
      if (fetchTimer) clearTimeout(fetchTimer)
      fetchTimer = undefined
      await follower?.stop()
      store.close()
    },
  }
}
