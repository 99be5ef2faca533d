/** Public types of gov.config. */
import type { Schema } from './schema.js'
import type { StandardSchemaV1 } from './standard-schema.js'

type OutputOf<S extends StandardSchemaV1> = StandardSchemaV1.InferOutput<S>
/** The options with `schema` being exactly S (not checked against Schema<T>, which is deep for arktype). */
type WithSchema<O, S> = Omit<O, 'schema'> & { readonly schema: S }

/**
 * Where a value came from: `live` straight from the server, `memory` from the local copy a
 * watch keeps fresh, `snapshot` from the file of the last good value (the server was not
 * reachable, or has not answered yet, at a cold start).
 */
export type ConfigSource = 'live' | 'memory' | 'snapshot'

export interface ConfigValue<T> {
  readonly value: T
  /** The server's version of the key: pass it as `ifVersion` to compare-and-set. */
  readonly version: string
  readonly source: ConfigSource
  /**
   * How long ago the server last confirmed this value, ms: 0 for a read from the server; for
   * a watched key, the time since the watch's last answer or confirmation (keep-alive,
   * unchanged blocking answer, progress notification), so it grows while the server is
   * silent; for a snapshot, the time since it was written.
   */
  readonly ageMs: number
}

/** One delivery to a watcher. `value` is undefined when the key does not exist. */
export interface ConfigChange<T> {
  readonly key: string
  readonly value: T | undefined
  /** What this watcher was given before; undefined on the first delivery. */
  readonly previous: T | undefined
  /** undefined when the key does not exist. */
  readonly version: string | undefined
  /** Top-level keys whose value differs from `previous` (raw values; non-objects have none). */
  readonly changedKeys: readonly string[]
  readonly source: ConfigSource
}

export type ConfigCallback<T> = (value: T | undefined, change: ConfigChange<T>) => void

export interface ConfigGetOptions<T> {
  /** Validates (and may transform) the value; a value it rejects throws ValidationError. */
  readonly schema?: Schema<T>
  /**
   * A watched key's local copy older than this (its `ageMs`) is not used: the value is read
   * from the server instead. Default: the local copy is always used.
   */
  readonly maxStalenessMs?: number
  readonly signal?: AbortSignal
}

export interface ConfigWatchOptions<T> {
  /** A value this rejects is never delivered: config:rejected is emitted and the last good one stays. */
  readonly schema?: Schema<T>
}

export interface ConfigChangesOptions<T> extends ConfigWatchOptions<T> {
  /** Ends the iterator. */
  readonly signal?: AbortSignal
}

export interface ConfigWriteOptions {
  /** Compare-and-set: write only if the stored version is this ("0": only if absent). */
  readonly ifVersion?: string
  readonly signal?: AbortSignal
}

/**
 * Each reading call has a Standard Schema overload first: arktype's types are callable too,
 * and inferring through the parse-function form would widen the value to `ArkErrors | T`.
 */
export interface ConfigClient {
  /** The value, or undefined when the key does not exist; from the local copy when watched. */
  get<S extends StandardSchemaV1>(key: string, options: WithSchema<ConfigGetOptions<unknown>, S>): Promise<ConfigValue<OutputOf<S>> | undefined>
  get<T = unknown>(key: string, options?: ConfigGetOptions<T>): Promise<ConfigValue<T> | undefined>
  /** Calls back with the current value, then with every change, in version order. Returns an unsubscribe. */
  watch<S extends StandardSchemaV1>(key: string, callback: ConfigCallback<OutputOf<S>>, options: WithSchema<ConfigWatchOptions<unknown>, S>): () => void
  watch<T = unknown>(key: string, callback: ConfigCallback<T>, options?: ConfigWatchOptions<T>): () => void
  /** The same deliveries as an async iterator; ends when the signal aborts or the client closes. */
  changes<S extends StandardSchemaV1>(key: string, options: WithSchema<ConfigChangesOptions<unknown>, S>): AsyncIterableIterator<ConfigChange<OutputOf<S>>>
  changes<T = unknown>(key: string, options?: ConfigChangesOptions<T>): AsyncIterableIterator<ConfigChange<T>>
  /** Writes the value; ConflictError when `ifVersion` no longer matches. */
  put(key: string, value: unknown, options?: ConfigWriteOptions): Promise<ConfigValue<unknown>>
  /** Removes the key; false when it did not exist. */
  delete(key: string, options?: ConfigWriteOptions): Promise<boolean>
  /** Stops every watch and ends every iterator; waits for snapshot writes. Idempotent. */
  close(): Promise<void>
}
