import { type Hex, toHex } from 'viem'
import { mnemonicToAccount } from 'viem/accounts'

/** The well-known development mnemonic (anvil's and Hardhat's default): never use it for real funds. */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk'

export type DevAccount = { address: Hex; privateKey: Hex }

/**
 * The first `count` accounts of the development mnemonic (m/44'/60'/0'/0/i), the same addresses
 * anvil prefunds, so the embedded chain and anvil hold the same accounts.
 */
export function devAccounts(count = 10): DevAccount[] {
  return Array.from({ length: count }, (_, addressIndex) => {
    const account = mnemonicToAccount(DEV_MNEMONIC, { addressIndex })
    const privateKey = account.getHdKey().privateKey
    if (!privateKey) throw new Error('HD derivation returned no private key')
    return { address: account.address, privateKey: toHex(privateKey) }
  })
}
