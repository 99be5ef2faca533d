/**
 * Config entries (protocol section 6) with compare-and-set, durable writes and a bounded
 * history of versions per key.
 *
 * Writes are group-committed: every write that arrives while a commit is on its way to
 * disk waits for the next one, is checked and applied in arrival order against a draft
 * that holds only the keys the batch changes, and the draft becomes visible (to reads and
 * watchers) only once it is on disk. So a write is durable before it is answered or seen,
 * CAS checks see every earlier write, and a commit costs what it changed, not the store.
 */
import type { IndexCounter } from './index-counter.js'
import type { StoredEntry } from './config-file.js'
import type { KeyHistory, KeyVersion } from './config-disk.js'
import { HttpError, limitExceeded } from './http-error.js'

export interface ConfigStoreLimits {
  readonly maxConfigKeys: number
  readonly maxConfigBytes: number
}

export interface ConfigStoreOptions {
  /** Keys and their histories as loaded from disk. */
  readonly initial?: ReadonlyMap<string, KeyHistory>
  /** Index of the latest config change (1 when there never was one). */
  readonly index?: bigint
  readonly counter: IndexCounter
  /** Makes changed keys durable and removes forgotten ones; absent keeps config in memory. */
  readonly persist?: (changed: readonly KeyHistory[], removed: readonly string[]) => Promise<void>
  readonly onChange: (key: string) => void
  /** Told of every failed disk write (after the writers were answered 500). */
  readonly onPersistFailure?: (error: unknown) => void
  readonly onRefuse?: (limit: keyof ConfigStoreLimits, key: string) => void
  readonly limits?: Partial<ConfigStoreLimits>
  /** Versions kept per key, the current one included; default 50. */
  readonly historyLength?: number
  /** Deleted keys whose deletion index and history are remembered (section 6, 404 answers). */
  readonly maxTombstones?: number
}

/** The newest versions of a key fit in this many bytes of JSON text (the newest always stays). */
const HISTORY_MAX_BYTES = 1024 * 1024

type Mutation =
  | { readonly kind: 'put'; readonly key: string; readonly json: string; readonly ifVersion: bigint | undefined; readonly writer: string }
  | { readonly kind: 'delete'; readonly key: string; readonly ifVersion: bigint | undefined; readonly writer: string }

interface Pending {
  readonly mutation: Mutation
  readonly resolve: (result: bigint) => void
  readonly reject: (error: unknown) => void
}

const liveEntry = (h: KeyHistory | undefined): StoredEntry | undefined => {
  const top = h?.versions[0]
  return top === undefined || top.json === null ? undefined : { key: h!.key, version: top.version, json: top.json }
}

export class ConfigStore {
  /** Every key with a history, deleted ones (tombstones) included. */
  readonly #histories = new Map<string, KeyHistory>()
  readonly #entries = new Map<string, StoredEntry>()
  /** Deleted keys by deletion, oldest first. */
  readonly #tombstones = new Map<string, bigint>()
  /** Tombstones forgotten in memory whose files go with the next commit. */
  readonly #forgotten = new Set<string>()
  #bytes = 0
  #index: bigint
  readonly #options: ConfigStoreOptions
  readonly #limits: ConfigStoreLimits
  readonly #historyLength: number
  readonly #maxTombstones: number
  #queue: Pending[] = []
  #draining: Promise<void> | undefined

  constructor(options: ConfigStoreOptions) {
    this.#options = options
    this.#index = options.index ?? 1n
    this.#limits = { maxConfigKeys: Infinity, maxConfigBytes: Infinity, ...options.limits }
    this.#historyLength = options.historyLength ?? 50
    this.#maxTombstones = options.maxTombstones ?? 10_000
    const deleted = [...(options.initial?.values() ?? [])].filter((h) => h.versions[0]!.json === null)
    deleted.sort((a, b) => (a.versions[0]!.version < b.versions[0]!.version ? -1 : 1))
    for (const h of options.initial?.values() ?? []) if (h.versions[0]!.json !== null) this.#install(h)
    for (const h of deleted) this.#install(h)
  }

  /** Index of the latest config change. */
  get index(): bigint {
    return this.#index
  }

  get size(): number {
    return this.#entries.size
  }

  /** Bytes of JSON text of every current value. */
  get bytes(): number {
    return this.#bytes
  }

  get(key: string): StoredEntry | undefined {
    return this.#entries.get(key)
  }

  /** The key's versions, newest first (deletions included); undefined when it has none. */
  history(key: string): KeyHistory | undefined {
    return this.#histories.get(key)
  }

  /** The key's resource index: its version, its deletion index, or 1. */
  keyIndex(key: string): bigint {
    return this.#entries.get(key)?.version ?? this.#tombstones.get(key) ?? 1n
  }

  list(): { key: string; version: bigint }[] {
    return [...this.#entries.values()]
      .map((e) => ({ key: e.key, version: e.version }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  }

  /** Resolves with the new version once durable; 409 on a CAS mismatch, 429/413 past a limit. */
  put(key: string, json: string, ifVersion?: bigint, writer = ''): Promise<bigint> {
    return this.#enqueue({ kind: 'put', key, json, ifVersion, writer })
  }

  /** Resolves with the deletion index once durable; 404 when absent, 409 on a CAS mismatch. */
  delete(key: string, ifVersion?: bigint, writer = ''): Promise<bigint> {
    return this.#enqueue({ kind: 'delete', key, ifVersion, writer })
  }

  /** Waits until every accepted write is committed (or failed). */
  async flush(): Promise<void> {
    while (this.#draining) await this.#draining
  }

  #enqueue(mutation: Mutation): Promise<bigint> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ mutation, resolve, reject })
      this.#draining ??= this.#drain().finally(() => {
        this.#draining = undefined
      })
    })
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue
      this.#queue = []
      await this.#commit(batch)
    }
  }

  async #commit(batch: readonly Pending[]): Promise<void> {
    const draft = new Map<string, KeyHistory>()
    const tally = { keys: this.#entries.size, bytes: this.#bytes }
    const outcomes = batch.map((p) => this.#apply(p.mutation, draft, tally))
    if (draft.size > 0 && this.#options.persist) {
      const removed = [...this.#forgotten].filter((k) => !draft.has(k))
      try {
        await this.#options.persist([...draft.values()], removed)
        for (const key of removed) this.#forgotten.delete(key)
      } catch (error) {
        this.#options.onPersistFailure?.(error)
        const fault = new HttpError(500, 'internal', `config could not be written to disk: ${(error as Error).message}`)
        batch.forEach((p, i) => p.reject(typeof outcomes[i] === 'bigint' ? fault : outcomes[i]))
        return
      }
    }
    for (const history of draft.values()) this.#install(history)
    batch.forEach((p, i) => {
      const outcome = outcomes[i]
      if (typeof outcome !== 'bigint') return p.reject(outcome)
      if (outcome > this.#index) this.#index = outcome
      this.#options.onChange(p.mutation.key)
      p.resolve(outcome)
    })
  }

  /** Checks and applies one mutation to the draft; the new index, or the error to answer. */
  #apply(mutation: Mutation, draft: Map<string, KeyHistory>, tally: { keys: number; bytes: number }): bigint | HttpError {
    const history = draft.get(mutation.key) ?? this.#histories.get(mutation.key)
    const current = liveEntry(history)
    if (mutation.kind === 'delete' && current === undefined) {
      return new HttpError(404, 'not_found', `config key ${JSON.stringify(mutation.key)} does not exist`)
    }
    const stored = current?.version ?? 0n
    if (mutation.ifVersion !== undefined && mutation.ifVersion !== stored) {
      return new HttpError(409, 'conflict', `version is ${stored}, not ${mutation.ifVersion}`, { extra: { currentVersion: stored.toString() } })
    }
    const json = mutation.kind === 'put' ? mutation.json : null
    const refused = this.#overLimit(mutation.key, current, json, tally)
    if (refused) return refused
    const index = this.#options.counter.next()
    const version: KeyVersion = { version: index, json, time: Date.now(), writer: mutation.writer }
    draft.set(mutation.key, { key: mutation.key, versions: this.#trim([version, ...(history?.versions ?? [])]) })
    return index
  }

  /** Updates the running tallies for a change, or answers the limit it would pass. */
  #overLimit(key: string, current: StoredEntry | undefined, json: string | null, tally: { keys: number; bytes: number }): HttpError | undefined {
    const keys = tally.keys + (current === undefined ? 1 : 0) - (json === null ? 1 : 0)
    const bytes = tally.bytes - (current?.json.length ?? 0) + (json?.length ?? 0)
    if (json !== null && current === undefined && keys > this.#limits.maxConfigKeys) {
      this.#options.onRefuse?.('maxConfigKeys', key)
      return limitExceeded('maxConfigKeys', `the server holds ${tally.keys} config keys, the limit (maxConfigKeys)`)
    }
    if (json !== null && bytes > this.#limits.maxConfigBytes && bytes > tally.bytes) {
      this.#options.onRefuse?.('maxConfigBytes', key)
      return limitExceeded('maxConfigBytes', `config values would total ${bytes} bytes, over the limit of ${this.#limits.maxConfigBytes}`, 413)
    }
    tally.keys = keys
    tally.bytes = bytes
    return undefined
  }

  #trim(versions: KeyVersion[]): KeyVersion[] {
    let bytes = 0
    let keep = 0
    while (keep < versions.length && keep < this.#historyLength) {
      bytes += versions[keep]!.json?.length ?? 0
      if (keep > 0 && bytes > HISTORY_MAX_BYTES) break
      keep += 1
    }
    return versions.slice(0, keep)
  }

  /** Makes a committed (or loaded) history current in memory. */
  #install(history: KeyHistory): void {
    const key = history.key
    const before = this.#entries.get(key)
    if (before) this.#bytes -= before.json.length
    this.#histories.set(key, history)
    this.#forgotten.delete(key)
    this.#tombstones.delete(key)
    const entry = liveEntry(history)
    if (entry) {
      this.#entries.set(key, entry)
      this.#bytes += entry.json.length
    } else {
      this.#entries.delete(key)
      this.#tombstones.set(key, history.versions[0]!.version)
      if (this.#tombstones.size > this.#maxTombstones) this.#forget(this.#tombstones.keys().next().value as string)
    }
    if (history.versions[0]!.version > this.#index) this.#index = history.versions[0]!.version
  }

  #forget(key: string): void {
    this.#tombstones.delete(key)
    this.#histories.delete(key)
    if (this.#options.persist) this.#forgotten.add(key)
  }
}
