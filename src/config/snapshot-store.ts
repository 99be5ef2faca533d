/**
 * The last good value of each watched key on disk, `${dataDir}/config/<key>.json`, so a
 * service that starts while the server is down still has its config. Writes are atomic
 * and coalesced per key: under a burst of changes at most one write runs and one waits,
 * and the waiting one is always the newest.
 */
import { createHash } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { toGovernanceError, type GovernanceError } from '../errors.js'
import { readJsonFile, writeFileAtomic } from '../internal/atomic-file.js'
import type { Logger } from '../internal/logger.js'
import { isRevision, type ConfigEntry } from '../types.js'

interface Slot {
  /** The newest state waiting for the running write; `null` means "remove the file". */
  next: ConfigEntry | null | undefined
  done: Promise<void>
}

/** NAME_MAX is 255 bytes on common file systems; a 256-character key plus ".json" is not. */
const MAX_PLAIN_KEY = 240

export class SnapshotStore {
  readonly #dir: string
  readonly #logger: Logger
  readonly #onError: (error: GovernanceError) => void
  readonly #now: () => number
  #slots = new Map<string, Slot>()

  constructor(dataDir: string, logger: Logger, onError: (error: GovernanceError) => void, now: () => number = Date.now) {
    this.#dir = join(dataDir, 'config')
    this.#logger = logger
    this.#onError = onError
    this.#now = now
  }

  pathOf(key: string): string {
    if (key.length <= MAX_PLAIN_KEY) return join(this.#dir, `${key}.json`)
    const hash = createHash('sha256').update(key).digest('hex').slice(0, 16)
    return join(this.#dir, `${key.slice(0, 200)}~${hash}.json`)
  }

  /** The stored entry, or undefined when there is none or it is unreadable (logged). */
  async read(key: string): Promise<(ConfigEntry & { readonly savedAt?: number }) | undefined> {
    let data: unknown
    try {
      data = await readJsonFile(this.pathOf(key))
    } catch (error) {
      this.#logger.warn('config snapshot unreadable; ignoring it', { key, error: (error as Error).message })
      return undefined
    }
    if (data === undefined) return undefined
    const file = data as { key?: unknown; version?: unknown; value?: unknown; savedAt?: unknown }
    if (typeof data !== 'object' || data === null || file.key !== key || !isRevision(file.version) || !('value' in file)) {
      this.#logger.warn('config snapshot malformed; ignoring it', { key, path: this.pathOf(key) })
      return undefined
    }
    const savedAt = typeof file.savedAt === 'string' ? Date.parse(file.savedAt) : Number.NaN
    return { key, value: file.value, version: file.version, ...(Number.isFinite(savedAt) && { savedAt }) }
  }

  /** Stores the entry, or removes the file when the key no longer exists (`null`). */
  save(key: string, entry: ConfigEntry | null): void {
    const slot = this.#slots.get(key)
    if (slot) {
      slot.next = entry
      return
    }
    const fresh: Slot = { next: undefined, done: Promise.resolve() }
    this.#slots.set(key, fresh)
    fresh.done = this.#drain(key, entry, fresh)
  }

  /** Resolves when every pending write has finished. */
  async flush(): Promise<void> {
    while (this.#slots.size > 0) await Promise.all([...this.#slots.values()].map((s) => s.done))
  }

  async #drain(key: string, first: ConfigEntry | null, slot: Slot): Promise<void> {
    let entry: ConfigEntry | null | undefined = first
    while (entry !== undefined) {
      slot.next = undefined
      try {
        await this.#write(key, entry)
      } catch (error) {
        const wrapped = toGovernanceError(error, `could not write the config snapshot of ${key}`)
        this.#logger.warn(wrapped.message, { key })
        this.#onError(wrapped)
      }
      entry = slot.next
    }
    this.#slots.delete(key)
  }

  async #write(key: string, entry: ConfigEntry | null): Promise<void> {
    const path = this.pathOf(key)
    if (entry === null) return rm(path, { force: true })
    const body = { key, version: entry.version, value: entry.value, savedAt: new Date(this.#now()).toISOString() }
    await writeFileAtomic(path, `${JSON.stringify(body)}\n`)
  }
}
