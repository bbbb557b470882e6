import { Role } from '@verity/contracts'
import type { Address } from 'viem'
import type { VerityClient } from './createVerityClient.js'

export type DiscoveredNode = { address: Address; url: string; staked: bigint }

const cache = new WeakMap<VerityClient, { at: number; nodes: Promise<DiscoveredNode[]> }>()

/**
 * Active inference nodes from the on-chain registry, with their endpoints and stakes. With
 * `maxAgeMs`, a list read less than that long ago is reused.
 */
export async function discoverNodes(client: VerityClient, options: { maxAgeMs?: number } = {}): Promise<DiscoveredNode[]> {
  const cached = cache.get(client)
  if (cached && options.maxAgeMs !== undefined && Date.now() - cached.at < options.maxAgeMs) return cached.nodes
  const nodes = readRegistry(client)
  cache.set(client, { at: Date.now(), nodes })
  nodes.catch(() => cache.delete(client))
  return nodes
}

async function readRegistry(client: VerityClient): Promise<DiscoveredNode[]> {
  const registry = client.contracts.nodeRegistry
  const count = Number(await registry.read.operatorCount([Role.inference]))
  const nodes = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const address = await registry.read.operatorAt([Role.inference, BigInt(i)])
      const [operator, active] = await Promise.all([
        registry.read.getOperator([address, Role.inference]),
        registry.read.isActive([address, Role.inference]),
      ])
      return active ? { address, url: operator.endpoint.replace(/\/$/, ''), staked: operator.staked } : undefined
    }),
  )
  return nodes.filter((n): n is DiscoveredNode => n !== undefined)
}
