/**
 * The last good value of each watched key on disk, `${dataDir}/config/<key>.json`, so a
 * service that starts while the server is down still has its config. The file format and
 * name live here; writing goes through the shared coalescing writer (src/feed/snapshot-writer.ts).
 */
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import type { GovernanceError } from '../errors.js'
import { SnapshotWriter } from '../feed/snapshot-writer.js'
import { readJsonFile } from '../internal/atomic-file.js'
import type { Logger } from '../internal/logger.js'
import { isRevision, type ConfigEntry } from '../types.js'

/** NAME_MAX is 255 bytes on common file systems; a 256-character key plus ".json" is not. */
const MAX_PLAIN_KEY = 240

export class SnapshotStore {
  readonly #dir: string
  readonly #logger: Logger
  readonly #now: () => number
  readonly #writer: SnapshotWriter

  constructor(dataDir: string, logger: Logger, onError: (error: GovernanceError) => void, now: () => number = Date.now) {
    this.#dir = join(dataDir, 'config')
    this.#logger = logger
    this.#now = now
    this.#writer = new SnapshotWriter((error) => {
      logger.warn(error.message)
      onError(error)
    })
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
    this.#writer.save(this.pathOf(key), () => this.#render(key, entry), `the config snapshot of ${key}`)
  }

  /** Resolves when every pending write has finished. */
  flush(): Promise<void> {
    return this.#writer.flush()
  }

  #render(key: string, entry: ConfigEntry | null): string | null {
    if (entry === null) return null
    const body = { key, version: entry.version, value: entry.value, savedAt: new Date(this.#now()).toISOString() }
    return `${JSON.stringify(body)}\n`
  }
}
