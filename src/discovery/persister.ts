/** Writes a service's latest snapshot to disk: one write at a time, the newest state wins. */
import type { Logger } from '../internal/logger.js'
import type { ServiceSnapshot } from '../types.js'
import { writeSnapshot } from './disk.js'

export class SnapshotPersister {
  readonly #path: string
  readonly #now: () => number
  readonly #logger: Logger
  #latest: ServiceSnapshot | undefined
  #running: Promise<void> | undefined
  #warned = false

  constructor(path: string, now: () => number, logger: Logger) {
    this.#path = path
    this.#now = now
    this.#logger = logger
  }

  save(snapshot: ServiceSnapshot): void {
    this.#latest = snapshot
    this.#running ??= this.#drain()
  }

  /** Settles once the writes asked for so far are done (or failed and were logged). */
  idle(): Promise<void> {
    return this.#running ?? Promise.resolve()
  }

  async #drain(): Promise<void> {
    try {
      while (this.#latest !== undefined) {
        const snapshot = this.#latest
        this.#latest = undefined
        try {
          await writeSnapshot(this.#path, snapshot, this.#now())
          this.#warned = false
        } catch (error) {
          // Once per failing streak: a full or read-only disk must not flood the log.
          if (!this.#warned) this.#logger.warn('discovery: writing the snapshot failed', { path: this.#path, error })
          this.#warned = true
        }
      }
    } finally {
      this.#running = undefined
    }
  }
}
