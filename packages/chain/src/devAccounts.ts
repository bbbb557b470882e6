import { type Hex, toHex } from 'viem'
import { mnemonicToAccount } from 'viem/accounts'

/** The well-known development mnemonic (anvil's and Hardhat's default): never use it for real funds. */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk'

export type DevAccount = { address: Hex; privateKey: Hex }

/** Derivation runs PBKDF2 (about 40 ms an account); each index is derived once per process. */
const derived: DevAccount[] = []

/**
 * The first `count` accounts of the development mnemonic (m/44'/60'/0'/0/i), the same addresses
 * anvil prefunds, so the embedded chain and anvil hold the same accounts.
 */
export function devAccounts(count = 10): DevAccount[] {
  while (derived.length < count) {
    const account = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: derived.length })
    const privateKey = account.getHdKey().privateKey
    if (!privateKey) throw new Error('HD derivation returned no private key')
    derived.push({ address: account.address, privateKey: toHex(privateKey) })
  }
  return derived.slice(0, count).map((account) => ({ ...account }))
}
