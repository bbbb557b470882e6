import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  type AddressBook,
  AddressBookError,
  KeyFileError,
  parseAddressBook,
  readAddressBook,
  readKeyFile,
  serializeAddressBook,
  writeAddressBook,
} from '../src/index.js'

const book: AddressBook = {
  version: 1,
  chainId: 31337,
  deployedAtBlock: 1n,
  contracts: {
    token: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
    modelRegistry: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
    nodeRegistry: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
    settlement: '0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9',
    tensorHasher: '0x9A676e781A523b5d0C0e43731313A708CB607508',
    oneStepVerifier: '0xdc64a140aa3e981100a9beca4e685f962f0cf6c9',
    disputeGame: '0x5fc8d32690cc91d4c39d9d3abcbd7a2f9f3bb9e1',
  },
  params: {
    challengeWindow: 60,
    maxDisputeDuration: 120,
    unbondingDelay: 600,
    escrowWithdrawalDelay: 200,
    minInferenceStake: 10n ** 21n,
    minVerifierStake: 10n ** 20n,
    verifierShareBps: 1000,
    challengeBond: 10n ** 19n,
    disputeClock: 20,
    minMoveTime: 0,
    slashAmount: 10n ** 18n,
    dataResponseTime: 30,
    attesterSlash: 10n ** 19n,
    bountyBps: 5000,
    decoyRateBps: 200,
    decoyReward: 10n ** 17n,
    dataChallengeBond: 10n ** 18n,
    minSampleRateBps: 0,
  },
}

describe('address book', () => {
  it('round-trips through its file, bigints as decimal strings', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'verity-book-')), 'addresses.json')
    writeAddressBook(path, book)
    expect(readAddressBook(path)).toEqual(book)
    expect(JSON.parse(serializeAddressBook(book)).params.minInferenceStake).toBe('1000000000000000000000')
  })

  it('rejects a book that does not describe a deployment, saying what it expected', () => {
    type Raw = { version?: number; chainId?: number; contracts: Record<string, string>; params: Record<string, unknown> }
    const bad = (mutate: (raw: Raw) => void) => {
      const raw = JSON.parse(serializeAddressBook(book)) as Raw
      mutate(raw)
      return () => parseAddressBook(JSON.stringify(raw), 'book.json')
    }
    expect(() => parseAddressBook('{', 'book.json')).toThrow('address book book.json: is not JSON')
    expect(bad((r) => (r.version = 2))).toThrow('version must be 1, found 2')
    expect(bad((r) => (r.contracts.settlement = '0x12'))).toThrow('contracts.settlement must be an address, found "0x12"')
    expect(bad((r) => (r.params.challengeWindow = -1))).toThrow('params.challengeWindow must be a non-negative integer, found -1')
    expect(bad((r) => (r.params.challengeBond = 5))).toThrow('params.challengeBond must be a decimal string, found 5')
    expect(bad((r) => delete r.contracts.tensorHasher)).toThrow('contracts.tensorHasher must be an address')
    expect(bad((r) => delete r.params.dataResponseTime)).toThrow('params.dataResponseTime must be a non-negative integer')
    expect(bad((r) => (r.params.attesterSlash = 10))).toThrow('params.attesterSlash must be a decimal string, found 10')
    expect(bad((r) => delete r.chainId)).toThrowError(AddressBookError)
    expect(() => readAddressBook('/nonexistent/addresses.json')).toThrow('cannot be read (ENOENT)')
  })

  it('reads key files and rejects anything but one private key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'verity-key-'))
    const key = `0x${'ab'.repeat(32)}`
    writeFileSync(join(dir, 'good'), `${key}\n`)
    writeFileSync(join(dir, 'bad'), 'not a key')
    expect(readKeyFile(join(dir, 'good'))).toBe(key)
    expect(() => readKeyFile(join(dir, 'bad'))).toThrowError(KeyFileError)
    expect(() => readKeyFile(join(dir, 'bad'))).toThrow('expected one line: 0x followed by 64 hex digits')
    expect(() => readKeyFile(join(dir, 'missing'))).toThrow('cannot be read (ENOENT)')
  })
})
