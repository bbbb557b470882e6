import { closeSync, fdatasync, fdatasyncSync, fstatSync, openSync, statSync } from 'node:fs'
import { type Channel, type NewInferenceRow, ReceiptStore } from './receiptStore.js'

type Job = {
  inference: NewInferenceRow
  inputBody: string
  admit: ((channel: Channel) => void) | undefined
  resolve(): void
  reject(error: unknown): void
}

export type ReceiptWriterOptions = {
  /** Receipts in one transaction at most (default 512). */
  maxGroup?: number
  /**
   * fdatasyncs that may be in flight at once (default 2). With one, a receipt committed just after an
   * fsync started waits for it to end and then for a whole second one; with two, the second starts at
   * once and covers it (each fsync still settles only what was committed before it started).
   */
  maxSyncs?: number
  /** Passed to its `ReceiptStore` (a checkpointer thread copies the WAL, the writer's commits no longer do). */
  autoCheckpointPages?: number | undefined
  /** Its connection's page cache, MB (`ReceiptStore`). */
  cacheMb?: number | undefined
  /**
   * Whether nothing but the receipts being synced waits on the event loop (asked when no fsync is in
   * flight and no receipt is queued): then the fsync runs there, synchronously — a lone request does
   * not pay for the hand-off to libuv's pool and back, and no other request is held up by it.
   */
  syncInline?: (() => boolean) | undefined
}

/**
 * Group commit of receipts, with the fsync off the event loop. Receipts handed in during one turn of
 * the event loop — or, while every fsync slot is busy, all those handed in until one frees — are
 * inserted in one SQLite transaction on the writer's own connection, which does
 * not fsync on commit (synchronous=NORMAL); the writer then fdatasyncs the WAL file on libuv's thread
 * pool — one at a time, each covering every group committed before it started — and only then
 * settles the callers' promises. So no answer leaves before its receipt is on disk, one fsync makes
 * many receipts durable, and requests keep being served while the disk works — except for a lone
 * request (`syncInline`), whose fsync runs on the event loop: nothing else waits there, and the hand-off
 * to the pool and back would only add to its latency. A receipt refused (a
 * replay, a fee its channel does not cover, what `admit` refuses) stores nothing and its caller gets
 * the error at once; the others of its group commit (`ReceiptStore.insertInferences`).
 */
export class ReceiptWriter {
  readonly store: ReceiptStore
  private readonly walPath: string
  private wal: number | undefined
  /** The inode of the open `wal` (an open file's inode never changes). */
  private walIno = -1
  private queue: Job[] = []
  private scheduled = false
  /** Committed, waiting for the next fsync of the WAL. */
  private unsynced: Job[] = []
  /** fdatasyncs of the WAL in flight on libuv's pool. */
  private syncing = 0
  private idle: (() => void)[] = []
  /** Holds in force (`hold`): no transaction starts while there is one. */
  private holds = 0
  /** fsyncs run on the event loop (`syncInline`), since the writer was opened. */
  inlineSyncs = 0
  /** Receipts per transaction and per fsync in the last flushes (for the bench). */
  readonly groupSizes: number[] = []
  readonly syncSizes: number[] = []
  /** How long the last flushes' transactions held the event loop, and the last fsyncs took, ms (for the bench). */
  readonly flushMs: number[] = []
  readonly syncMs: number[] = []

  private readonly maxGroup: number
  private readonly maxSyncs: number
  private readonly syncInline: (() => boolean) | undefined

  constructor(dbPath: string, options: ReceiptWriterOptions = {}) {
    this.maxGroup = options.maxGroup ?? 512
    this.maxSyncs = options.maxSyncs ?? 2
    this.syncInline = options.syncInline
    this.store = new ReceiptStore(dbPath, {
      syncOnCommit: false,
      autoCheckpointPages: options.autoCheckpointPages,
      cacheMb: options.cacheMb,
    })
    this.walPath = `${dbPath}-wal`
  }

  /**
   * Stores a receipt with its input; resolves once it is durable. `admit` runs inside the
   * transaction just before the insert, with the client's channel as charged so far (the receipts
   * before it in the same group included), and refuses by throwing.
   */
  insert(inference: Job['inference'], inputBody: string, admit?: (channel: Channel) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ inference, inputBody, admit, resolve, reject })
      if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => this.flush())
      }
    })
  }

  /**
   * Starts no transaction until the returned function is called (more than once is harmless):
   * receipts handed in meanwhile queue, the event loop goes on, and they commit in one group once
   * released. The checkpointer holds the writer while it copies the WAL's last frames (`restartStep`).
   */
  hold(): () => void {
    this.holds++
    let released = false
    return () => {
      if (released) return
      released = true
      this.holds--
      if (this.holds === 0 && this.queue.length > 0 && !this.scheduled) {
        this.scheduled = true
        setImmediate(() => this.flush())
      }
    }
  }

  /** Resolves once everything handed in so far is durable (or refused). */
  drain(): Promise<void> {
    if (!this.scheduled && this.queue.length === 0 && this.syncing === 0 && this.unsynced.length === 0) return Promise.resolve()
    return new Promise((resolve) => this.idle.push(resolve))
  }

  close(): void {
    if (this.wal !== undefined) closeSync(this.wal)
    this.wal = undefined
    this.store.close()
  }

  private flush(): void {
    this.scheduled = false
    if (this.holds > 0) return // released: flushes what queued meanwhile
    // Every fsync slot busy: what a commit now made durable would wait for a slot anyway, so the
    // queue waits uncommitted and commits, as one group, when a slot frees (`sync`'s settle calls back
    // here): as soon on disk, in fewer and larger transactions.
    if (this.syncing >= this.maxSyncs) return
    const started = performance.now()
    while (this.queue.length > 0) {
      const jobs = this.queue.splice(0, this.maxGroup)
      let refusals: unknown[]
      try {
        // BEGIN IMMEDIATE (in insertInferences): the write lock from the start. The node's other connection writes too (batches,
        // chain events), from another thread once this writer has its own: a deferred transaction
        // that read first would fail (SQLITE_BUSY, no wait) had that connection committed meanwhile.
        refusals = this.store.insertInferences(jobs)
      } catch (error) {
        for (const job of jobs) job.reject(error)
        continue
      }
      this.groupSizes.push(jobs.length)
      if (this.groupSizes.length > 4096) this.groupSizes.splice(0, 2048)
      for (const [k, job] of jobs.entries()) {
        if (refusals[k] !== undefined) job.reject(refusals[k])
        else this.unsynced.push(job)
      }
    }
    this.flushMs.push(performance.now() - started)
    if (this.flushMs.length > 4096) this.flushMs.splice(0, 2048)
    this.sync()
  }

  /**
   * The WAL file, opened once (and again should SQLite ever have replaced it — then only once no
   * fsync of the old one is in flight: `undefined` until then).
   */
  private walFd(): number | undefined {
    if (this.wal !== undefined && this.walIno === statSync(this.walPath).ino) return this.wal
    if (this.syncing > 0) return undefined
    if (this.wal !== undefined) closeSync(this.wal)
    this.wal = openSync(this.walPath, 'r+')
    this.walIno = fstatSync(this.wal).ino
    return this.wal
  }

  private sync(): void {
    if (this.syncing >= this.maxSyncs) return
    if (this.unsynced.length === 0) {
      if (this.syncing === 0 && !this.scheduled && this.queue.length === 0) for (const done of this.idle.splice(0)) done()
      return
    }
    let fd: number | undefined
    try {
      fd = this.walFd()
    } catch (error) {
      for (const job of this.unsynced.splice(0)) job.reject(error)
      return
    }
    if (fd === undefined) return // the WAL was replaced: once the fsyncs of the old one settle
    this.syncing++
    const jobs = this.unsynced.splice(0)
    this.syncSizes.push(jobs.length)
    if (this.syncSizes.length > 4096) this.syncSizes.splice(0, 2048)
    const syncStarted = performance.now()
    const settle = (error: unknown) => {
      this.syncMs.push(performance.now() - syncStarted)
      if (this.syncMs.length > 4096) this.syncMs.splice(0, 2048)
      this.syncing--
      for (const job of jobs) {
        if (error) job.reject(error)
        else job.resolve()
      }
      if (this.queue.length > 0 && !this.scheduled && this.holds === 0) this.flush()
      else this.sync()
    }
    if (this.syncing === 1 && !this.scheduled && this.queue.length === 0 && this.syncInline?.()) {
      let failure: unknown
      this.inlineSyncs++
      try {
        fdatasyncSync(fd)
      } catch (error) {
        failure = error
      }
      settle(failure)
      return
    }
    try {
      fdatasync(fd, settle)
    } catch (error) {
      settle(error)
    }
  }
}
