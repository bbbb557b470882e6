import { type EmbeddedChain, startEmbeddedChain } from '@verity/chain'
import { seededRandom } from '@verity/runtime'
import { type Address, concat, getContract, type Hex, keccak256 } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildReceiptTree, receiptRootFromProof, receiptTreeDepth, verifyReceiptProof } from '../src/index.js'
import { receiptMerkleHarnessAbi, receiptMerkleHarnessBytecode } from './generated/receiptMerkleHarness.js'

/**
 * Property tests of contracts/lib/ReceiptMerkle.sol and Bitmap.popcount (through the test harness,
 * on the embedded EVM) against src/receiptTree.ts: both sides must build the same tree, accept each
 * other's proofs, and compute the same (wrong) root for every malformed proof. Random inputs come
 * from a seeded PRNG; set VERITY_FUZZ_SEED to replay another seed.
 */
const SEED = Number(process.env.VERITY_FUZZ_SEED ?? 20_240_611)
const ZERO = `0x${'00'.repeat(32)}` as Hex
const COUNTS = [...Array.from({ length: 40 }, (_, i) => i + 1), 64, 65, 100, 257]
/** Counts up to this one check every index; larger ones a sample. */
const ALL_INDICES_UP_TO = 40
const SAMPLED_INDICES = 16
/**
 * Reads run in Promise.all batches of this size: the embedded EVM answers a few concurrent calls
 * faster than one at a time, but hundreds at once are ~20 times slower than sequential calls.
 */
const BATCH = 8

type Rand = () => number

const randInt = (rand: Rand, n: number) => Math.floor(rand() * n)
const randWord = (rand: Rand) => Math.floor(rand() * 2 ** 32)
const randBits = (rand: Rand, bits: number): bigint => {
  let value = 0n
  for (let i = 0; i < bits; i += 32) value = (value << 32n) | BigInt(randWord(rand))
  return value & ((1n << BigInt(bits)) - 1n)
}
const randHex32 = (rand: Rand): Hex => `0x${randBits(rand, 256).toString(16).padStart(64, '0')}`
/** `hex` with bit `bit` (0..255) flipped. */
const flipBit = (hex: Hex, bit: number): Hex => `0x${(BigInt(hex) ^ (1n << BigInt(bit))).toString(16).padStart(64, '0')}`

/** Runs the thunks in Promise.all batches of BATCH. */
async function inBatches<T>(tasks: readonly (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = []
  for (let i = 0; i < tasks.length; i += BATCH) results.push(...(await Promise.all(tasks.slice(i, i + BATCH).map((task) => task()))))
  return results
}

function popcount(x: bigint): number {
  let count = 0
  for (let v = x; v > 0n; v >>= 1n) count += Number(v & 1n)
  return count
}

/** Indices checked for a batch of `count` leaves: all of them, or the edges and a random sample. */
function indicesFor(rand: Rand, count: number): number[] {
  if (count <= ALL_INDICES_UP_TO) return Array.from({ length: count }, (_, i) => i)
  const chosen = new Set([0, 1, count - 2, count - 1])
  for (let p = 2; p < count; p *= 2) chosen.add(p - 1).add(p)
  while (chosen.size < SAMPLED_INDICES + 4) chosen.add(randInt(rand, count))
  return [...chosen].filter((i) => i < count).sort((a, b) => a - b)
}

describe('ReceiptMerkle.sol and receiptTree.ts agree', () => {
  let chain: EmbeddedChain
  let harness: ReturnType<typeof harnessAt>
  const harnessAt = (address: Address) => getContract({ abi: receiptMerkleHarnessAbi, address, client: chain.publicClient })

  beforeAll(async () => {
    chain = await startEmbeddedChain()
    const wallet = chain.walletClient(chain.accounts[0]!.privateKey)
    const hash = await wallet.deployContract({ abi: receiptMerkleHarnessAbi, bytecode: receiptMerkleHarnessBytecode, args: [] })
    const receipt = await chain.publicClient.waitForTransactionReceipt({ hash })
    expect(receipt.status).toBe('success')
    harness = harnessAt(receipt.contractAddress!)
  })
  afterAll(async () => {
    await chain?.close()
  })

  it.each(COUNTS)('%i leaves: same root, proofs accepted both ways, malformed proofs rejected by both', async (count) => {
    const seed = SEED + count
    const rand = seededRandom(seed)
    const at = (index: number, what: string) => `seed ${seed}, count ${count}, index ${index}: ${what}`
    const leaves = Array.from({ length: count }, () => randHex32(rand))
    const tree = buildReceiptTree(leaves)
    const depth = receiptTreeDepth(count)
    expect(tree.depth, `seed ${seed}, count ${count}: depth`).toBe(depth)
    expect(await harness.read.root([leaves]), `seed ${seed}, count ${count}: Solidity root`).toBe(tree.root)

    const checks: (() => Promise<void>)[] = []
    /** Solidity's rootFrom must return exactly what receiptRootFromProof computes (zero for undefined). */
    const rootFrom = (what: string, leaf: Hex, index: number | bigint, proof: readonly Hex[], expectRoot: 'root' | 'other' | 'zero') => {
      const tsIndex = Number(index)
      const ts =
        typeof index === 'bigint' && index > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : receiptRootFromProof(leaf, tsIndex, count, proof)
      const tsValid = ts !== undefined && verifyReceiptProof({ root: tree.root, leaf, index: tsIndex, count, proof })
      checks.push(() =>
        harness.read.rootFrom([leaf, BigInt(index), BigInt(count), proof]).then((solidity) => {
          expect(solidity, at(tsIndex, `${what}: Solidity and TypeScript compute the same root`)).toBe(ts ?? ZERO)
          if (expectRoot === 'root') {
            expect(solidity, at(tsIndex, `${what}: Solidity accepts`)).toBe(tree.root)
            expect(tsValid, at(tsIndex, `${what}: TypeScript accepts`)).toBe(true)
          } else {
            expect(solidity, at(tsIndex, `${what}: Solidity rejects`)).not.toBe(tree.root)
            if (expectRoot === 'zero') expect(solidity, at(tsIndex, `${what}: Solidity returns zero`)).toBe(ZERO)
            else expect(solidity, at(tsIndex, `${what}: Solidity returns another root`)).not.toBe(ZERO)
            expect(tsValid, at(tsIndex, `${what}: TypeScript rejects`)).toBe(false)
          }
        }),
      )
    }

    for (const index of indicesFor(rand, count)) {
      const leaf = leaves[index]!
      const proof = tree.proof(index)
      expect(proof.length, at(index, 'proof length')).toBe(depth)
      rootFrom('TypeScript proof', leaf, index, proof, 'root')
      checks.push(() =>
        harness.read.proof([leaves, BigInt(index)]).then((solidityProof) => {
          expect(solidityProof, at(index, 'Solidity proof equals the TypeScript proof')).toEqual(proof)
          expect(
            verifyReceiptProof({ root: tree.root, leaf, index, count, proof: solidityProof }),
            at(index, 'Solidity proof verifies'),
          ).toBe(true)
        }),
      )

      // A valid proof at the wrong position.
      if (count > 1) {
        const wrong = (index + 1 + randInt(rand, count - 1)) % count
        rootFrom(`proof of ${index} at index ${wrong}`, leaf, wrong, proof, 'other')
        rootFrom(`leaf ${wrong} with the proof of ${index}`, leaves[wrong]!, index, proof, 'other')
      }
      // Indices at or beyond the count (including ones inside the padded tree).
      rootFrom('index = count', leaf, count, proof, 'zero')
      rootFrom('index = 2^depth', leaf, 2 ** depth, proof, 'zero')
      rootFrom('index > count', leaf, count + 1 + randInt(rand, 1000), proof, 'zero')
      rootFrom('index = 2^256 - 1', leaf, 2n ** 256n - 1n, proof, 'zero')
      // Proofs of the wrong length.
      rootFrom('proof one sibling too long', leaf, index, [...proof, randHex32(rand)], 'zero')
      rootFrom('proof with an extra zero sibling', leaf, index, [...proof, ZERO], 'zero')
      if (depth > 0) {
        rootFrom('proof one sibling too short', leaf, index, proof.slice(0, -1), 'zero')
        rootFrom('proof without its first sibling', leaf, index, proof.slice(1), 'zero')
        rootFrom('empty proof', leaf, index, [], 'zero')
        // A corrupted sibling or leaf.
        const level = randInt(rand, depth)
        const flipped = proof.map((sibling, d) => (d === level ? flipBit(sibling, randInt(rand, 256)) : sibling))
        rootFrom(`sibling ${level} with one bit flipped`, leaf, index, flipped, 'other')
        const parent = keccak256(concat(index % 2 === 0 ? [leaf, proof[0]!] : [proof[0]!, leaf]))
        rootFrom('inner node passed off as a leaf', parent, index >> 1, proof.slice(1), 'zero')
      }
      rootFrom('leaf with one bit flipped', flipBit(leaf, randInt(rand, 256)), index, proof, 'other')
    }
    await inBatches(checks)
  })

  it('rootFrom computes the same value on arbitrary inputs, counts up to 2^32 - 1', async () => {
    const rand = seededRandom(SEED)
    const checks: (() => Promise<void>)[] = []
    for (let n = 0; n < 300; n++) {
      const count = n % 3 === 0 ? 2 ** 32 - 1 - randInt(rand, 2 ** 31) : 1 + randInt(rand, 2 ** (1 + randInt(rand, 32)) - 1)
      const depth = receiptTreeDepth(count)
      const index = n % 5 === 0 ? count + randInt(rand, 1000) : randInt(rand, count)
      const length = n % 7 === 0 ? Math.max(0, depth + (rand() < 0.5 ? -1 : 1)) : depth
      const leaf = randHex32(rand)
      const proof = Array.from({ length }, () => randHex32(rand))
      const expected = receiptRootFromProof(leaf, index, count, proof) ?? ZERO
      if (index < count && length === depth) expect(expected, `seed ${SEED}, case ${n}: a root`).not.toBe(ZERO)
      checks.push(() =>
        harness.read.rootFrom([leaf, BigInt(index), BigInt(count), proof]).then((solidity) => {
          expect(solidity, `seed ${SEED}, case ${n}: rootFrom(index ${index}, count ${count}, ${length} siblings)`).toBe(expected)
        }),
      )
    }
    await inBatches(checks)
  })

  it('Bitmap.popcount counts the set bits of any 256-bit word', async () => {
    const rand = seededRandom(SEED)
    const values: bigint[] = [0n, 2n ** 256n - 1n, 1n, 2n ** 255n]
    for (let k = 1; k <= 256; k++) values.push((1n << BigInt(k)) - 1n, 1n << BigInt(k - 1), (2n ** 256n - 1n) ^ (1n << BigInt(k - 1)))
    for (let n = 0; n < 300; n++) {
      // Uniform words, and sparse or dense ones (random words ANDed or ORed together).
      let value = randBits(rand, 256)
      const mix = randInt(rand, 4)
      for (let j = 0; j < mix; j++) value = n % 2 === 0 ? value & randBits(rand, 256) : value | randBits(rand, 256)
      values.push(value)
    }
    const found = await inBatches(values.map((x) => () => harness.read.popcount([x])))
    values.forEach((x, i) => {
      expect(found[i], `seed ${SEED}: popcount(0x${x.toString(16)})`).toBe(BigInt(popcount(x)))
    })
  })
})
