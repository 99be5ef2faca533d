/**
 * Config entries (protocol section 6) with compare-and-set and durable writes.
 *
 * Writes are group-committed: every write that arrives while a snapshot is being written
 * waits for the next one, is checked and applied in arrival order against a draft, and
 * the draft becomes visible (to reads and watchers) only once it is on disk. So a write
 * is durable before it is answered or seen, and CAS checks see every earlier write.
 */
import type { IndexCounter } from './index-counter.js'
import type { ConfigSnapshot, StoredEntry } from './config-file.js'
import { HttpError } from './http-error.js'

export interface ConfigStoreOptions {
  readonly initial: ConfigSnapshot
  readonly counter: IndexCounter
  /** Makes a snapshot durable; absent keeps config in memory. */
  readonly persist?: (snapshot: ConfigSnapshot) => Promise<void>
  readonly onChange: (key: string) => void
  /** Deleted keys whose deletion index is remembered (section 6, 404 answers). */
  readonly maxTombstones?: number
}

type Mutation =
  | { readonly kind: 'put'; readonly key: string; readonly json: string; readonly ifVersion: bigint | undefined }
  | { readonly kind: 'delete'; readonly key: string; readonly ifVersion: bigint | undefined }

interface Pending {
  readonly mutation: Mutation
  readonly resolve: (result: bigint) => void
  readonly reject: (error: unknown) => void
}

export class ConfigStore {
  #entries: Map<string, StoredEntry>
  readonly #tombstones = new Map<string, bigint>()
  #index: bigint
  readonly #counter: IndexCounter
  readonly #persist: ((snapshot: ConfigSnapshot) => Promise<void>) | undefined
  readonly #onChange: (key: string) => void
  readonly #maxTombstones: number
  #queue: Pending[] = []
  #draining: Promise<void> | undefined

  constructor(options: ConfigStoreOptions) {
    this.#entries = new Map(options.initial.entries)
    this.#index = options.initial.index
    this.#counter = options.counter
    this.#persist = options.persist
    this.#onChange = options.onChange
    this.#maxTombstones = options.maxTombstones ?? 10_000
  }

  /** Index of the latest config change. */
  get index(): bigint {
    return this.#index
  }

  get(key: string): StoredEntry | undefined {
    return this.#entries.get(key)
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

  /** Resolves with the new version once durable; 409 on a CAS mismatch. */
  put(key: string, json: string, ifVersion?: bigint): Promise<bigint> {
    return this.#enqueue({ kind: 'put', key, json, ifVersion })
  }

  /** Resolves with the deletion index once durable; 404 when absent, 409 on a CAS mismatch. */
  delete(key: string, ifVersion?: bigint): Promise<bigint> {
    return this.#enqueue({ kind: 'delete', key, ifVersion })
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
    const draft = new Map(this.#entries)
    const outcomes = batch.map((p) => this.#apply(p.mutation, draft))
    const applied = outcomes.filter((o) => typeof o === 'bigint')
    if (applied.length > 0 && this.#persist) {
      const index = applied.reduce((a, b) => (b > a ? b : a))
      try {
        await this.#persist({ index, entries: draft })
      } catch (error) {
        const fault = new HttpError(500, 'internal', `config could not be written to disk: ${(error as Error).message}`)
        batch.forEach((p, i) => (typeof outcomes[i] === 'bigint' ? p.reject(fault) : p.reject(outcomes[i])))
        return
      }
    }
    this.#entries = draft
    batch.forEach((p, i) => {
      const outcome = outcomes[i]
      if (typeof outcome !== 'bigint') return p.reject(outcome)
      this.#index = outcome > this.#index ? outcome : this.#index
      if (p.mutation.kind === 'delete') this.#remember(p.mutation.key, outcome)
      else this.#tombstones.delete(p.mutation.key)
      this.#onChange(p.mutation.key)
      p.resolve(outcome)
    })
  }

  /** Checks and applies one mutation to the draft; the new index, or the error to answer. */
  #apply(mutation: Mutation, draft: Map<string, StoredEntry>): bigint | HttpError {
    const current = draft.get(mutation.key)
    if (mutation.kind === 'delete' && current === undefined) {
      return new HttpError(404, 'not_found', `config key ${JSON.stringify(mutation.key)} does not exist`)
    }
    const stored = current?.version ?? 0n
    if (mutation.ifVersion !== undefined && mutation.ifVersion !== stored) {
      return new HttpError(409, 'conflict', `version is ${stored}, not ${mutation.ifVersion}`, {
        extra: { currentVersion: stored.toString() },
      })
    }
    const index = this.#counter.next()
    if (mutation.kind === 'delete') draft.delete(mutation.key)
    else draft.set(mutation.key, { key: mutation.key, version: index, json: mutation.json })
    return index
  }

  #remember(key: string, index: bigint): void {
    this.#tombstones.delete(key)
    this.#tombstones.set(key, index)
    if (this.#tombstones.size > this.#maxTombstones) {
      this.#tombstones.delete(this.#tombstones.keys().next().value as string)
    }
  }
}
