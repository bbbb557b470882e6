import { afterAll, describe, it } from 'vitest'
import { connect, startEmbeddedChain } from '../src/index.js'
import { type Anvil, startAnvil } from './anvil.js'
import { runSettlementFlow } from './settlementFlow.js'

describe('register → stake → commit → attest → finalize → redeem → claim → withdraw', () => {
  let anvil: Anvil | undefined
  afterAll(async () => anvil?.stop())

  it('runs on the embedded EDR chain', async () => {
    const chain = await startEmbeddedChain()
    try {
      await runSettlementFlow(chain)
    } finally {
      await chain.close()
    }
  })

  it('runs on anvil over JSON-RPC', async () => {
    anvil = await startAnvil()
    const chain = await connect(anvil.rpcUrl, { pollingInterval: 50 })
    await runSettlementFlow(chain)
  })
})
