import { buildBatchTree, hashReceipt, type InferenceRequest, NO_DECOYS_COMMIT, NO_DECOYS_SALT, requestFromWire } from '@verity/contracts'
import { type Hex, keccak256, toHex } from 'viem'
import type { AttackedNetwork } from './attackedNetwork.js'
import { type Attacker, type AttackReport, chainPast, committedAt, forgedReceipt, lastBatchId, TOKEN } from './moneyAttacker.js'

/**
 * escrow-thief: commits a random root with a 50 VRT fee total against the devnet client, then tries
 * to be paid: with a voucher it signed itself, and with the client's real voucher taken from an honest
 * node's public channel endpoint.
 */
export async function escrowThief(net: AttackedNetwork, attacker: Attacker, steps: AttackReport['steps']): Promise<void> {
  const random = keccak256(toHex(`random root ${Date.now()}`))
  const commit = await attacker.settlement('commitBatch', [
    random,
    1,
    50n * TOKEN,
    attacker.nextSequence(),
    'http://127.0.0.1:9/unreachable',
  ])
  steps.push({
    tried: 'commit a random root (unreachable data) with a 50 VRT fee total against a client that signed nothing',
    outcome: commit.ok ? 'committed: it moves no money' : `refused: ${commit.error}`,
  })
  // A voucher the attacker signs itself "for" the client: the contract takes the signer as the payer.
  const victim = net.client.account.address
  const own: InferenceRequest = {
    modelId: net.modelId,
    inputHash: keccak256(toHex('x')),
    node: attacker.address,
    mode: 1,
    maxFee: 50n * TOKEN,
    nonce: 1n,
    deadline: 2n ** 40n,
    channelTotal: 50n * TOKEN,
  }
  const { receipt } = await forgedReceipt(attacker, own, victim)
  const tree = buildBatchTree([hashReceipt(receipt, attacker.domain)], NO_DECOYS_COMMIT)
  const forged = await attacker.settlement('commitBatch', [
    tree.root,
    1,
    50n * TOKEN,
    attacker.nextSequence(),
    'http://127.0.0.1:9/unreachable',
  ])
  const batchId = await lastBatchId(net)
  steps.push({
    tried: 'commit a receipt naming the client, backed by a voucher the attacker signed',
    outcome: forged.ok ? 'committed' : `refused: ${forged.error}`,
  })
  await chainPast(net, (await committedAt(net, batchId)) + BigInt(net.book.params.challengeWindow))
  // Its batch has no decoys to hide: it reveals the empty salt, which finalize needs.
  await attacker.settlement('revealDecoys', [batchId, NO_DECOYS_SALT, tree.receiptsRoot])
  const finalized = await attacker.settlement('finalize', [batchId, []])
  steps.push({
    tried: 'finalize it after the window',
    outcome: finalized.ok ? 'finalized (pays nothing: no fees are held by batches)' : `refused: ${finalized.error}`,
  })
  const redeem = await attacker.settlement('redeem', [
    own,
    await attacker.signRequest(own),
    { outputHash: receipt.outputHash, fee: receipt.fee, issuedAt: receipt.issuedAt, batchId, index: 0, proof: tree.proof(0) },
  ])
  steps.push({
    tried: 'redeem 50 VRT with the self-signed voucher',
    outcome: redeem.ok ? 'the contract debited the signer — the attacker itself, not the client' : `refused: ${redeem.error}`,
  })
  // The client's real voucher, public on an honest node's channel endpoint.
  const channel = (await (await fetch(`${net.nodes[0]!.url}/v1/channels/${victim}`)).json()) as {
    voucher: { request: unknown; signature: Hex } | null
  }
  if (channel.voucher) {
    const real = requestFromWire(channel.voucher.request)
    const stolen = await attacker.settlement('redeem', [
      real,
      channel.voucher.signature,
      { outputHash: receipt.outputHash, fee: real.maxFee, issuedAt: 1n, batchId, index: 0, proof: tree.proof(0) },
    ])
    steps.push({
      tried: "redeem the client's real voucher (made out to an honest node)",
      outcome: stolen.ok ? 'REDEEMED' : `refused: ${stolen.error}`,
    })
  }
}
