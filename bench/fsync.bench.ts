/**
 * What one durable receipt waits for on this machine's disk, alone (no SQLite): the fdatasync of a
 * file after overwriting 6 WAL-sized frames (24-byte header + 4-KiB page each, as SQLite appends a
 * commit's pages to its WAL) — back to back, and with an idle gap of 1 or 2 ms before each (a lone
 * client's request every ~2 ms) — and the same with the fsync run on libuv's pool (`fs.fdatasync`
 * with a callback, as the node does under load) instead of on the calling thread (`fdatasyncSync`,
 * as it does for a lone request), the two taking turns. p50 and p90 of 600 each, in ms.
 *
 *   npx tsx bench/fsync.bench.ts
 */
import { closeSync, fdatasync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const dir = mkdtempSync(join(tmpdir(), 'verity-fsync-'))
const fd = openSync(join(dir, 'wal'), 'w')
const fileBytes = 8 << 20
writeSync(fd, Buffer.alloc(fileBytes))
fdatasyncSync(fd)
const page = Buffer.alloc(4096, 7)
let position = 0
/** One commit's frames, overwriting the file (a WAL restarted after a checkpoint is overwritten, not grown). */
const writeCommit = () => {
  for (let k = 0; k < 6; k++) {
    writeSync(fd, page, 0, 24, position)
    writeSync(fd, page, 0, 4096, position + 24)
    position += 4120
  }
  if (position > fileBytes - 6 * 4120) position = 0
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const syncOnPool = () => new Promise<void>((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())))

const quantile = (values: number[], p: number) => [...values].sort((x, y) => x - y)[Math.floor(p * (values.length - 1))]!
console.log('| fdatasync of 6 overwritten frames | gap before each | p50 ms | p90 ms |')
console.log('| --- | ---: | ---: | ---: |')
const wheres = ['calling thread', "libuv's pool"] as const
for (const gapMs of [0, 1, 2]) {
  // The two ways take turns, commit by commit: the disk's drift falls on both.
  const times = { 'calling thread': [] as number[], "libuv's pool": [] as number[] }
  for (let i = 0; i < 1300; i++) {
    if (gapMs > 0) await sleep(gapMs)
    else await new Promise((resolve) => setImmediate(resolve))
    writeCommit()
    const where = wheres[i % 2]!
    const started = performance.now()
    if (where === 'calling thread') fdatasyncSync(fd)
    else await syncOnPool()
    if (i >= 100) times[where].push(performance.now() - started)
  }
  for (const where of wheres)
    console.log(`| ${where} | ${gapMs} ms | ${quantile(times[where], 0.5).toFixed(3)} | ${quantile(times[where], 0.9).toFixed(3)} |`)
}
closeSync(fd)
rmSync(dir, { recursive: true, force: true })
