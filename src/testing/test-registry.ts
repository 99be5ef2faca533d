/**
 * createTestRegistry(): an in-process registry for users' own tests. The real
 * GovernanceClient talks to it through `registry.backend()` (or `registry.client()`, or
 * over HTTP with startTestServer() and the msw handlers); the test adds other services'
 * instances, sets config, injects faults, and asserts on what the client did.
 */
import type { Backend, CallContext, Unsubscribe, Watcher, WatchOptions } from '../backend.js'
import { GovernanceClient } from '../client.js'
import { ServerUnavailableError, type GovernanceError } from '../errors.js'
import type { GovernanceClientOptions } from '../options.js'
import { unrefTimeout } from '../internal/timers.js'
import type { ConfigEntry, InstanceSpec, Lease, MetricPoint, RenewResult } from '../types.js'
import { createBackendView, type TestBackendOptions } from './backend-view.js'
import type { EmptyOperation, FaultTarget } from './fault-plan.js'
import { MemoryBackend, type EmptyScope, type MemoryBackendOptions } from './memory-backend.js'
import { CallRecords, type ConfigReadRecord, type DeregistrationRecord, type HeartbeatRecord, type RegistrationRecord } from './records.js'

export type TestRegistryOptions = MemoryBackendOptions

/** Options of `registry.client()`: the client's own, minus how it reaches a server, plus the backend view's. */
export type TestClientOptions = Omit<GovernanceClientOptions, 'server' | 'backend' | 'token' | 'tls'> & {
  readonly backend?: TestBackendOptions
}

export class TestRegistry extends MemoryBackend {
  override readonly name: string = 'test-registry'
  readonly #records = new CallRecords()
  readonly #clients = new Set<GovernanceClient>()
  readonly #closing = new AbortController()
  #unreachableTimer: NodeJS.Timeout | undefined
  #emptyTimer: NodeJS.Timeout | undefined

  // ---- connecting clients ----

  /** A Backend for one client; its close() ends only its own watches, never the registry. */
  backend(options?: TestBackendOptions): Backend {
    return createBackendView(this, options)
  }

  /**
   * A GovernanceClient on this registry with test-friendly defaults: no logging, 1 s call
   * deadline, heartbeats every 200 ms, discovery:changed without delay, no process
   * metrics, metric batches every second. Every default can be overridden; close() of the
   * registry closes it.
   */
  client(options: TestClientOptions = {}): GovernanceClient {
    const { backend, ...rest } = options
    const client = new GovernanceClient({
      logger: false,
      requestTimeoutMs: 1_000,
      heartbeatIntervalMs: 200,
      ...rest,
      discovery: { minNotifyIntervalMs: 0, ...rest.discovery },
      metrics: rest.metrics === false ? false : { processMetrics: false, flushIntervalMs: 1_000, ...rest.metrics },
      backend: this.backend(backend),
    })
    this.#clients.add(client)
    return client
  }

  // ---- records ----

  /** Every registration attempt, in order (failed ones carry `error`). */
  get registrations(): readonly RegistrationRecord[] {
    return this.#records.registrations
  }

  /** Every renewal attempt, in order. */
  get heartbeats(): readonly HeartbeatRecord[] {
    return this.#records.heartbeats
  }

  get deregistrations(): readonly DeregistrationRecord[] {
    return this.#records.deregistrations
  }

  /** Every config read: single reads ('get') and watches opened ('watch'). */
  get configReads(): readonly ConfigReadRecord[] {
    return this.#records.configReads
  }

  /** The points of every accepted metric batch, in order; only those named `name` when given. */
  metricPoints(name?: string): MetricPoint[] {
    const points = this.metricBatches.flatMap((b) => b.points)
    return name === undefined ? points : points.filter((p) => p.name === name)
  }

  /** Forgets every record (calls, registrations, heartbeats, metric batches…); the registry's state stays. */
  clearRecords(): void {
    this.#records.clear()
    this.calls.length = 0
    this.metricBatches.length = 0
  }

  // ---- faults ----

  /** Unreachable now, reachable again after `ms` (on a timer that fake timers drive). */
  unreachableFor(ms: number): void {
    this.setUnreachable(true)
    this.#unreachableTimer = unrefTimeout(() => this.setUnreachable(false), ms)
  }

  override setUnreachable(unreachable: boolean): void {
    clearTimeout(this.#unreachableTimer)
    this.#unreachableTimer = undefined
    super.setUnreachable(unreachable)
  }

  /** Answers nothing for `ms` (no instances; with `{ config: true }` no config either), then the real state again. */
  emptyFor(ms: number, scope?: EmptyScope): void {
    this.setEmpty(true, scope)
    this.#emptyTimer = unrefTimeout(() => this.setEmpty(false), ms)
  }

  override setEmpty(empty: boolean, scope?: EmptyScope): void {
    clearTimeout(this.#emptyTimer)
    this.#emptyTimer = undefined
    super.setEmpty(empty, scope)
  }

  /** The next `count` calls of `op` ('*': any call) fail; by default with a retryable ServerUnavailableError (503). */
  failNext(op: FaultTarget, count = 1, error?: GovernanceError | (() => GovernanceError)): void {
    const make = error ?? (() => new ServerUnavailableError(`the test registry failed ${op} (injected)`, { details: { fault: 'error' } }))
    this.faults.failNext(op, make, count)
  }

  /** The next `count` answers of `op` are garbage: the client gets a ProtocolError, as from a real backend. */
  malformedNext(op: FaultTarget, count = 1): void {
    this.faults.malformedNext(op, count)
  }

  /** The next `count` answers of `op` are empty: no instances (at a newer revision), or no config value. */
  emptyNext(op: EmptyOperation, count = 1): void {
    this.faults.emptyNext(op, count)
  }

  /** Every call of `op` ('*': any call) answers after `ms`, or fails with TimeoutError at the caller's deadline; 0 ends it. */
  slow(op: FaultTarget, ms: number): void {
    this.faults.delay(op, ms)
  }

  // ---- the Backend calls, recorded ----

  override register(spec: InstanceSpec, ctx: CallContext): Promise<Lease> {
    return this.#records.track(this.#records.registrations, { instance: spec }, super.register(spec, ctx))
  }

  override renew(lease: Lease, ctx: CallContext): Promise<RenewResult> {
    return this.#records.track(this.#records.heartbeats, { lease }, super.renew(lease, ctx))
  }

  override deregister(lease: Lease, ctx: CallContext): Promise<void> {
    return this.#records.track(this.#records.deregistrations, { lease }, super.deregister(lease, ctx))
  }

  override getConfig(key: string, ctx: CallContext): Promise<ConfigEntry | undefined> {
    return this.#records.track(this.#records.configReads, { key, via: 'get' as const }, super.getConfig(key, ctx))
  }

  override watchConfig(key: string, watcher: Watcher<ConfigEntry | undefined>, options?: WatchOptions): Unsubscribe {
    this.#records.configReads.push({ key, via: 'watch', at: Date.now() })
    return super.watchConfig(key, watcher, options)
  }

  /** Aborted when the registry closes: protocol front ends release held requests on it. */
  get closeSignal(): AbortSignal {
    return this.#closing.signal
  }

  /** Closes the clients made by client(), ends every watch, lease timer and fault timer. Idempotent. */
  override async close(): Promise<void> {
    // Faults would only slow the clients' goodbyes down (or hang them under fake timers).
    this.faults.clear()
    const clients = [...this.#clients]
    this.#clients.clear()
    await Promise.allSettled(clients.map((c) => c.close()))
    clearTimeout(this.#unreachableTimer)
    clearTimeout(this.#emptyTimer)
    this.#closing.abort()
    await super.close()
  }
}

/** A fresh in-process registry: `registry.client({ service })`, or `new GovernanceClient({ backend: registry.backend(), … })`. */
export function createTestRegistry(options?: TestRegistryOptions): TestRegistry {
  return new TestRegistry(options)
}
