/**
 * gov.config: reads, writes, and the watches behind watch() and changes(). One KeyWatch
 * per key holds the backend feed; this file only routes calls to it and to the backend.
 */
import type { CallContext } from '../backend.js'
import {
  ClientClosedError,
  GovernanceError,
  NotSupportedError,
  ProtocolError,
  isRetryableError,
  toGovernanceError,
} from '../errors.js'
import { checkCallOptions } from '../internal/call-options.js'
import { guardedCall } from '../internal/guarded-call.js'
import type { SubsystemContext } from '../internal/context.js'
import type { ConfigEntry } from '../types.js'
import { checkEntry } from './answers.js'
import { checkCallback, checkIfVersion, checkKey, checkMaxStaleness, checkSchema, checkSignal, checkValue } from './arguments.js'
import { ChangeStream } from './change-stream.js'
import { KeyWatch, type Subscriber } from './key-watch.js'
import type { ResolvedConfigOptions } from './options.js'
import { runSchema, validationError, type Schema } from './schema.js'
import { SnapshotStore } from './snapshot-store.js'
import type {
  ConfigCallback,
  ConfigChange,
  ConfigChangesOptions,
  ConfigClient,
  ConfigGetOptions,
  ConfigSource,
  ConfigValue,
  ConfigWatchOptions,
  ConfigWriteOptions,
} from './types.js'

/** Past a call's own deadline, for a backend that honours it to report its own error first. */
const GRACE_MS = 100

export function createConfigClient(options: ResolvedConfigOptions, ctx: SubsystemContext): ConfigClient {
  return new DefaultConfigClient(options, ctx)
}

class DefaultConfigClient implements ConfigClient {
  readonly #options: ResolvedConfigOptions
  readonly #ctx: SubsystemContext
  readonly #snapshots: SnapshotStore | undefined
  readonly #watches = new Map<string, KeyWatch>()
  readonly #streams = new Set<ChangeStream<unknown>>()
  #closing: Promise<void> | undefined

  constructor(options: ResolvedConfigOptions, ctx: SubsystemContext) {
    this.#options = options
    this.#ctx = ctx
    this.#snapshots =
      options.snapshot && ctx.dataDir !== undefined
        ? new SnapshotStore(ctx.dataDir, ctx.logger, (e) => ctx.emit('error', e), () => ctx.clock.now())
        : undefined
  }

  async get<T = unknown>(key: string, raw?: ConfigGetOptions<T>): Promise<ConfigValue<T> | undefined> {
    this.#checkOpen()
    checkKey(key)
    const options = checkCallOptions('config.get()', raw, ['schema', 'signal', 'maxStalenessMs']) as ConfigGetOptions<T>
    const schema = checkSchema<T>(options.schema)
    const signal = checkSignal(options.signal)
    const maxStalenessMs = checkMaxStaleness(options.maxStalenessMs)
    signal?.throwIfAborted()
    const watch = this.#watches.get(key)
    if (watch?.hasState && watch.ageMs <= maxStalenessMs) return watch.read(schema)
    const { entry, source, ageMs } = await this.#fetch(key, signal)
    if (entry === undefined) return undefined
    if (!schema) return { value: entry.value as T, version: entry.version, source, ageMs }
    const outcome = await runSchema(schema, entry.value)
    if (!outcome.ok) throw validationError(key, entry.version, outcome.issues)
    return { value: outcome.value, version: entry.version, source, ageMs }
  }

  watch<T = unknown>(key: string, callback: ConfigCallback<T>, raw?: ConfigWatchOptions<T>): () => void {
    this.#checkOpen()
    checkKey(key)
    checkCallback(callback)
    const options = checkCallOptions('config.watch()', raw, ['schema']) as ConfigWatchOptions<T>
    const schema = checkSchema<T>(options.schema)
    return this.#subscribe(key, schema, (change) => callback(change.value as T | undefined, change as ConfigChange<T>))
  }

  changes<T = unknown>(key: string, raw?: ConfigChangesOptions<T>): AsyncIterableIterator<ConfigChange<T>> {
    this.#checkOpen()
    checkKey(key)
    const options = checkCallOptions('config.changes()', raw, ['schema', 'signal']) as ConfigChangesOptions<T>
    const schema = checkSchema<T>(options.schema)
    const signal = checkSignal(options.signal)
    let unsubscribe: (() => void) | undefined
    const onAbort = (): void => stream.end()
    const stream: ChangeStream<T> = new ChangeStream<T>(this.#options.changesBufferSize, () => {
      signal?.removeEventListener('abort', onAbort)
      this.#streams.delete(stream as ChangeStream<unknown>)
      unsubscribe?.()
    })
    if (signal?.aborted) {
      stream.end()
      return stream
    }
    this.#streams.add(stream as ChangeStream<unknown>)
    signal?.addEventListener('abort', onAbort, { once: true })
    unsubscribe = this.#subscribe(key, schema, (change, raw) => stream.push(change as ConfigChange<T>, raw))
    return stream
  }

  async put(key: string, value: unknown, options?: ConfigWriteOptions): Promise<ConfigValue<unknown>> {
    const call = this.#writeCall(key, options, 'putConfig')
    checkValue(key, value)
    const backend = this.#ctx.backend
    const entry = await this.#call(call.signal, `config.put() of ${key}`, (ctx) => backend.putConfig!(key, value, call.cas, ctx))
    const checked = checkEntry(key, entry)
    if (!checked) throw new ProtocolError(`backend ${backend.name} answered no entry for a write of ${key}`)
    return { value: checked.value, version: checked.version, source: 'live', ageMs: 0 }
  }

  async delete(key: string, options?: ConfigWriteOptions): Promise<boolean> {
    const call = this.#writeCall(key, options, 'deleteConfig')
    const backend = this.#ctx.backend
    const deleted = await this.#call(call.signal, `config.delete() of ${key}`, (ctx) => backend.deleteConfig!(key, call.cas, ctx))
    if (typeof deleted !== 'boolean') throw new ProtocolError(`backend ${backend.name} answered a non-boolean for a delete of ${key}`)
    return deleted
  }

  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    for (const stream of [...this.#streams]) stream.end()
    for (const watch of this.#watches.values()) watch.close()
    this.#watches.clear()
    await this.#snapshots?.flush()
  }

  // ---- helpers ----

  #checkOpen(): void {
    if (this.#closing) throw new ClientClosedError('the config client is closed')
  }

  #subscribe(key: string, schema: Schema<unknown> | undefined, deliver: Subscriber['deliver']): () => void {
    let watch = this.#watches.get(key)
    if (!watch) {
      const created: KeyWatch = new KeyWatch(key, {
        ctx: this.#ctx,
        options: this.#options,
        snapshots: this.#snapshots,
        onIdle: () => {
          if (this.#watches.get(key) === created) this.#watches.delete(key)
        },
      })
      this.#watches.set(key, created)
      watch = created
    }
    const owner = watch
    const sub = owner.subscribe(schema, deliver)
    // Started after the first subscriber is in, so a backend that answers synchronously
    // still reaches it as a live delivery.
    if (!owner.started) owner.start()
    let active = true
    return () => {
      if (!active) return
      active = false
      owner.unsubscribe(sub)
    }
  }

  /** A read straight from the backend, falling back to the snapshot when the server is not there. */
  async #fetch(key: string, signal: AbortSignal | undefined): Promise<{ entry: ConfigEntry | undefined; source: ConfigSource; ageMs: number }> {
    const backend = this.#ctx.backend
    try {
      const entry = await this.#call(signal, `config.get() of ${key}`, (ctx) => backend.getConfig(key, ctx))
      return { entry: checkEntry(key, entry), source: 'live', ageMs: 0 }
    } catch (error) {
      if (signal?.aborted || !this.#snapshots || !canFallBack(error)) throw error
      const stored = await this.#snapshots.read(key)
      if (!stored) throw error
      const { savedAt, ...snapshot } = stored
      this.#ctx.logger.warn(`config ${key}: server unreachable, serving the snapshot`, { key, version: snapshot.version, error: (error as Error).message })
      const ageMs = savedAt === undefined ? Number.POSITIVE_INFINITY : Math.max(0, this.#ctx.clock.now() - savedAt)
      return { entry: snapshot, source: 'snapshot', ageMs }
    }
  }

  #writeCall(key: string, raw: ConfigWriteOptions | undefined, op: 'putConfig' | 'deleteConfig') {
    this.#checkOpen()
    checkKey(key)
    const options = checkCallOptions(op === 'putConfig' ? 'config.put()' : 'config.delete()', raw, ['ifVersion', 'signal']) as ConfigWriteOptions
    const ifVersion = checkIfVersion(options.ifVersion)
    const signal = checkSignal(options.signal)
    const backend = this.#ctx.backend
    if (typeof backend[op] !== 'function') {
      throw new NotSupportedError(`backend ${backend.name} cannot ${op === 'putConfig' ? 'write' : 'delete'} config`, { details: { key } })
    }
    if (ifVersion !== undefined && !backend.capabilities.compareAndSet) {
      throw new NotSupportedError(`backend ${backend.name} has no compare-and-set; ifVersion cannot be honoured`, { details: { key } })
    }
    signal?.throwIfAborted()
    return { signal, cas: ifVersion === undefined ? {} : { ifVersion } }
  }

  /**
   * Runs a backend call: an abort rethrows the signal's reason, anything else becomes a
   * GovernanceError. Guarded, so a backend that ignores its deadline cannot hang the caller.
   */
  async #call<R>(signal: AbortSignal | undefined, what: string, fn: (ctx: CallContext) => Promise<R>): Promise<R> {
    try {
      return await guardedCall(what, fn, this.#ctx.requestTimeoutMs, signal, GRACE_MS)
    } catch (error) {
      if (signal?.aborted) throw signal.reason
      throw toGovernanceError(error, 'config call failed')
    }
  }
}

/** Unavailable, timeouts, 5xx and malformed answers: the server cannot give a good value now. */
function canFallBack(error: unknown): boolean {
  return isRetryableError(error) || (error instanceof GovernanceError && error.code === 'GOV_PROTOCOL')
}
