import { Role } from '@verity/contracts'
import { checkServedReceipt, fetchJson, type Receipt, ServedReceiptError } from '@verity/protocol'
import type { Address, Hex } from 'viem'
import type { IndexStore } from './indexStore.js'

/** Pages read from one operator per poll (500 records each) before moving to the next one. */
const MAX_PAGES = 4
const PAGE = 500

type Operator = { address: string; role: number; endpoint: string; api_error: string | null }

/** A self-reported compute time: a finite, non-negative number of milliseconds, or nothing. */
export function computeMsOf(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null
}

/**
 * Follows the APIs of the registered operators into the index: each inference node's receipts as
 * soon as they are signed (`/v1/receipts`, so a receipt is visible at EXECUTED before its batch is
 * committed) and each verifier's re-executions with their compute time (`/v1/checks`). A receipt is
 * kept only if it is the node's own, hashes to the id served and carries the node's signature; a
 * cursor per operator (in the index) makes it resumable. An operator whose API fails is marked with
 * the error and tried again at the next poll.
 */
export function operatorFeeds(parameters: {
  store: IndexStore
  domain: { chainId: number; settlement: Address }
  log(line: string): void
}) {
  const { store, domain, log } = parameters

  async function page<T>(url: string): Promise<T> {
    return (await fetchJson(url, { timeoutMs: 5000 })) as T
  }

  /** Reads one page of a node's receipts; returns how many it read. */
  async function followNode(op: Operator): Promise<number> {
    const key = `receipts:${op.address}`
    const after = Number(store.getMeta(key) ?? 0)
    const body = await page<{ receipts: { seq: number; inferenceId: string; receipt: unknown; signature: Hex; computeMs?: unknown }[] }>(
      `${op.endpoint}/v1/receipts?after=${after}&limit=${PAGE}`,
    )
    let next = after
    const rows: unknown[][] = []
    for (const served of body.receipts) {
      if (!Number.isSafeInteger(served.seq) || served.seq <= next) throw new Error(`receipts out of order at seq ${served.seq}`)
      next = served.seq
      // Not the id served, not signed by its node, or not this node's: not indexed (it will not be committed as such either).
      const id = String(served.inferenceId).toLowerCase()
      if (!/^0x[0-9a-f]{64}$/.test(id)) continue
      let receipt: Receipt
      try {
        receipt = checkServedReceipt({ inferenceId: id as Hex, receipt: served.receipt, signature: served.signature, domain })
      } catch (error) {
        if (error instanceof ServedReceiptError) continue
        throw error
      }
      if (receipt.node.toLowerCase() !== op.address) continue
      rows.push([
        id,
        op.address,
        receipt.client.toLowerCase(),
        receipt.modelId,
        String(receipt.fee),
        receipt.mode,
        JSON.stringify(served.receipt),
        served.signature,
        Number(receipt.issuedAt) * 1000,
        computeMsOf(served.computeMs),
      ])
    }
    store.transaction(() => {
      for (const row of rows) {
        store.run(
          `INSERT INTO inferences (id, node, client, model_id, fee, mode, receipt_json, signature, executed_at_ms, compute_ms)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET compute_ms = COALESCE(inferences.compute_ms, excluded.compute_ms)`,
          ...row,
        )
      }
      store.setMeta(key, String(next))
    })
    return body.receipts.length
  }

  /** Reads one page of a verifier's re-executions; returns how many it read. */
  async function followVerifier(op: Operator): Promise<number> {
    const key = `checks:${op.address}`
    const after = Number(store.getMeta(key) ?? 0)
    const body = await page<{
      checks: {
        seq: number
        batchId: number
        index: number
        inferenceId: string
        mode: number
        computeMs: unknown
        matched: boolean
        atMs: number
      }[]
    }>(`${op.endpoint}/v1/checks?after=${after}&limit=${PAGE}`)
    let next = after
    store.transaction(() => {
      for (const c of body.checks) {
        if (!Number.isSafeInteger(c.seq) || c.seq <= next) throw new Error(`checks out of order at seq ${c.seq}`)
        next = c.seq
        const computeMs = computeMsOf(c.computeMs)
        if (computeMs === null || !Number.isSafeInteger(c.batchId) || !Number.isSafeInteger(c.index)) continue
        store.run(
          `INSERT OR IGNORE INTO checks (verifier, seq, batch_id, idx, inference_id, mode, compute_ms, matched, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          op.address,
          c.seq,
          c.batchId,
          c.index,
          String(c.inferenceId).toLowerCase(),
          Number(c.mode),
          computeMs,
          c.matched ? 1 : 0,
          Number(c.atMs),
        )
      }
      store.setMeta(key, String(next))
    })
    return body.checks.length
  }

  /** One pass over every registered operator with an HTTP endpoint. */
  return async function poll(): Promise<void> {
    const operators = store.all<Operator>('SELECT address, role, endpoint, api_error FROM operators')
    for (const op of operators) {
      if (!/^https?:\/\//.test(op.endpoint)) continue
      const follow = op.role === Role.inference ? followNode : op.role === Role.verifier ? followVerifier : undefined
      if (!follow) continue
      try {
        for (let i = 0; i < MAX_PAGES && (await follow(op)) === PAGE; i++) {}
        if (op.api_error !== null) store.run('UPDATE operators SET api_error = NULL WHERE address = ? AND role = ?', op.address, op.role)
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error)
        if (message !== op.api_error) log(`indexer: ${op.endpoint}: ${message}`)
        store.run('UPDATE operators SET api_error = ? WHERE address = ? AND role = ?', message, op.address, op.role)
      }
    }
  }
}
