/**
 * The one seam between protocol v1 and whatever holds the state: the reference server's
 * stores implement it (server-store.ts), and so does the testing kit's TestRegistry
 * (src/testing/protocol-v1/registry-store.ts). The routes, validation, blocking rules and
 * error answers above it exist once (routes.ts, protocol-handler.ts).
 *
 * Indexes are bigints, as the protocol's decimal strings parse to; a method may answer
 * at once or with a promise (the reference server's registry answers at once, which keeps
 * the heartbeat path free of extra turns of the event loop where it can).
 */
import type { MetricBatch } from '../../types.js'
import type { Answer } from './answer.js'
import type { InstanceOverride } from '../instance-overrides.js'
import type { RegistrationBody } from '../validation.js'

export type MaybePromise<T> = T | Promise<T>

/**
 * `answer(value)` at once for a store that answered at once, after it for one that answered
 * with a promise: the reference server's writes stay on the turn they arrived in.
 */
export function andThen<T>(value: MaybePromise<T>, answer: (value: T) => Answer): MaybePromise<Answer> {
  return value instanceof Promise ? value.then(answer) : answer(value)
}

/** What a blocking query can wait on (section 4). */
export type Resource =
  | { readonly kind: 'service'; readonly service: string }
  | { readonly kind: 'services' }
  | { readonly kind: 'config'; readonly key: string }

/** Who asks: the signal that ends with the request, and the peer's address (per-client limits, history). */
export interface Caller {
  readonly signal: AbortSignal
  readonly client: string
}

/** An instance as section 5 answers it; the store decides its other members. */
export interface InstanceAnswer {
  readonly ttlMs: number
}

/** A config entry's value as stored JSON text, so a value is never re-serialised. */
export interface StoredValue {
  readonly json: string
  readonly version: string
}

export interface ProtocolStore {
  // ---- section 4: blocking queries ----

  /** The resource's index now; undefined when this store cannot hold queries on it (they answer at once). */
  resourceIndex(resource: Resource): bigint | undefined
  /**
   * Resolves once `resource` moves past `index` (its index now), `waitMs` passes, the caller
   * goes away or the store closes. Rejects with what the request must answer instead (429
   * past a held limit, a test registry's injected fault).
   */
  waitForChange(resource: Resource, index: bigint, waitMs: number, caller: Caller): Promise<unknown>

  // ---- section 5: registry ----

  /** `held`: the request was held, so the state is answered as it is now (no new read). */
  listInstances(service: string, caller: Caller, held: boolean): MaybePromise<{ readonly json: string | Buffer; readonly index: bigint }>
  listServices(caller: Caller): MaybePromise<{ readonly services: readonly unknown[]; readonly index: bigint }>
  register(service: string, id: string, spec: RegistrationBody, caller: Caller): MaybePromise<{ readonly instance: InstanceAnswer; readonly index: bigint }>
  /** Restarts the lease; undefined when the instance is not held. */
  renew(service: string, id: string, caller: Caller): MaybePromise<{ readonly ttlMs: number; readonly override?: InstanceOverride } | undefined>
  deregister(service: string, id: string, caller: Caller): MaybePromise<{ readonly removed: boolean; readonly index: bigint }>

  // ---- section 6: config ----

  listConfig(caller: Caller): MaybePromise<{ readonly keys: readonly { readonly key: string; readonly version: string }[]; readonly index: bigint }>
  /** The entry (undefined when the key does not exist) and the key's index. */
  getConfig(key: string, caller: Caller, held: boolean): MaybePromise<{ readonly entry: StoredValue | undefined; readonly index: bigint }>
  /** Writes `value` (whose JSON text is `json`) with CAS; 409 on a version mismatch. */
  putConfig(key: string, value: { readonly json: string; readonly value: unknown }, ifVersion: bigint | undefined, caller: Caller): MaybePromise<{ readonly version: string; readonly index: bigint }>
  /** The deletion's index; 404 (configKeyMissing) when the key does not exist, 409 on a version mismatch. */
  deleteConfig(key: string, ifVersion: bigint | undefined, caller: Caller): MaybePromise<bigint>

  // ---- sections 7 and 8 ----

  /** Stores a batch; false when its batchId was seen before (answered as a duplicate). */
  pushMetrics(batch: MetricBatch, caller: Caller): MaybePromise<boolean>
  /** The members of `GET /v1/health` after `status`: `index` (a decimal string) first, then any additions. */
  health(): Readonly<Record<string, unknown>>
}
