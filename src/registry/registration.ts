/**
 * The instance's life at the server, as the facade exposes it: register() once, and the
 * client keeps it registered (LeaseKeeper), feeds its status (setStatus, health check) and
 * takes it down in order on close(): DOWN, drain, deregister, every timer stopped.
 */
import { ClientClosedError, InvalidArgumentError, TimeoutError, type GovernanceError } from '../errors.js'
import { checkCallOptions } from '../internal/call-options.js'
import type { SubsystemContext } from '../internal/context.js'
import type { EmitFn } from '../events.js'
import type { Instance, InstanceSpec, InstanceStatus } from '../types.js'
import { Deregistrar } from './deregistrar.js'
import { HealthMonitor } from './health-monitor.js'
import { generateInstanceId } from './host.js'
import { keeperStatus } from './keeper-state.js'
import { LeaseKeeper } from './lease-keeper.js'
import type { ResolvedRegistryOptions, ResolvedServiceOptions } from './options.js'
import { failOption } from '../internal/options-kit.js'
import { IDLE_PHASE, enterPhase, type Phase } from './registration-phase.js'
import { checkStatus } from './validate.js'
import { Waiters } from './waiters.js'

/**
 * - `idle`: not registered (before register(), after deregister(), after register() gave up)
 * - `registering`: the first registration is under way
 * - `registered`: the server holds the instance and the last call to it succeeded
 * - `renewing-failed`: renewals fail (server unreachable) but the lease deadline has not passed
 * - `lost`: the lease is gone (server said so, or the deadline passed); re-registering
 * - `closing` / `closed`: close() is running / has finished
 */
export type RegistrationState = 'idle' | 'registering' | 'registered' | 'renewing-failed' | 'lost' | 'closing' | 'closed'

export interface RegisterOptions {
  /** false: return at once and register in the background (default true). */
  readonly wait?: boolean
  readonly signal?: AbortSignal
}

export interface RegistrationCallOptions {
  readonly signal?: AbortSignal
}

export interface Registration extends AsyncDisposable {
  register(options?: RegisterOptions): Promise<void>
  deregister(options?: RegistrationCallOptions): Promise<void>
  setStatus(status: InstanceStatus, options?: RegistrationCallOptions): Promise<void>
  readonly state: RegistrationState
  /** 0 before the first registration; +1 with every registration that starts a new lease. */
  readonly epoch: number
  /** True while the lease of this epoch is held: work fenced by the epoch may go on. */
  holdsEpoch(epoch: number): boolean
  /** The instance as the server last accepted it, while registered. */
  readonly instance: Instance | undefined
  /** Stable for the client's life: service.id, or generated once. */
  readonly instanceId: string
  /** The status sent to the server (setStatus, health check and shutdown combined). */
  readonly status: InstanceStatus
  close(): Promise<void>
}

/** Optional seams for tests. */
export interface RegistrationInternals {
  readonly random?: () => number
}

export function createRegistration(options: ResolvedRegistryOptions, ctx: SubsystemContext, internals: RegistrationInternals = {}): Registration {
  return new RegistrationImpl(options, ctx, internals)
}

class RegistrationImpl implements Registration {
  readonly instanceId: string
  readonly #o: ResolvedRegistryOptions
  readonly #ctx: SubsystemContext
  readonly #emit: EmitFn
  readonly #keeper: LeaseKeeper
  readonly #health: HealthMonitor | undefined
  readonly #waiters = new Waiters()
  readonly #pendingRegisters = new Set<Promise<void>>()
  #phase: Phase = IDLE_PHASE
  #runs = 0
  #manual: InstanceStatus
  #healthStatus: InstanceStatus | undefined
  #status: InstanceStatus
  #statusVersion = 0
  #closing: Promise<void> | undefined
  #deregistering: Promise<void> | undefined
  readonly #deregistrar: Deregistrar

  constructor(options: ResolvedRegistryOptions, ctx: SubsystemContext, internals: RegistrationInternals) {
    this.#o = options
    this.#ctx = ctx
    this.#deregistrar = new Deregistrar(ctx)
    this.#emit = ctx.emit
    this.instanceId = options.service?.id ?? generateInstanceId(options.service?.name)
    this.#manual = this.#status = options.service?.status ?? 'UP'
    this.#keeper = new LeaseKeeper({
      backend: ctx.backend,
      emit: ctx.emit,
      logger: ctx.logger,
      clock: ctx.clock,
      requestTimeoutMs: ctx.requestTimeoutMs,
      intervalMs: options.heartbeatIntervalMs,
      marginMs: options.leaseSafetyMarginMs,
      deadline: ctx.backend.capabilities.ttl,
      random: internals.random ?? Math.random,
      service: options.service?.name ?? '',
      instanceId: this.instanceId,
      host: {
        spec: () => this.#spec(),
        statusVersion: () => this.#statusVersion,
        changed: () => this.#changed(),
        refusalEndsRegistration: () => this.#phase.kind === 'active' && this.#phase.bounded,
      },
    })
    this.#health = options.healthCheck
      ? new HealthMonitor(options.healthCheck, options.healthCheckIntervalMs, ctx.logger, (s) => this.#onHealth(s))
      : undefined
    if (options.service?.addressIsFallback) {
      ctx.logger.warn(`no address in GOVERNANCE_ADDRESS, POD_IP or HOST_IP and no non-internal interface: advertising ${options.service.address}, reachable only from this machine; set service.address or GOVERNANCE_ADDRESS`)
    }
  }

  get state(): RegistrationState {
    const phase = this.#phase
    if (phase.kind !== 'active') return phase.kind
    return this.#keeper.running ? keeperStatus(this.#keeper.state) : 'registering'
  }
  get epoch(): number {
    return this.#keeper.epoch
  }
  get instance(): Instance | undefined {
    return this.#keeper.instance
  }
  get status(): InstanceStatus {
    return this.#status
  }

  holdsEpoch(epoch: number): boolean {
    return this.#keeper.lease !== undefined && this.#keeper.epoch === epoch
  }

  async register(raw?: RegisterOptions): Promise<void> {
    const options = checkCallOptions('register()', raw, ['wait', 'signal']) as RegisterOptions
    // Only a boolean: 'no' or 0 meaning "wait" (or not) would be a guess.
    if (options.wait !== undefined && typeof options.wait !== 'boolean') failOption('register(): options.wait', 'must be true or false', options.wait)
    this.#requireService('register()')
    this.#requireOpen('register()')
    options.signal?.throwIfAborted()
    if (this.#deregistering) await this.#deregistering.catch(() => {})
    this.#requireOpen('register()')
    const wait = options.wait !== false
    if (this.#phase.kind === 'idle') this.#begin(wait)
    else if (!wait) this.#unbound()
    if (!wait) return
    const pending = this.#waiters.wait(() => this.#registeredOutcome(), {
      timeoutMs: this.#o.registerTimeoutMs,
      signal: options.signal,
      onTimeout: () => this.#registerTimeoutError(),
    })
    this.#pendingRegisters.add(pending)
    try {
      await pending
    } finally {
      this.#pendingRegisters.delete(pending)
      this.#giveUpIfUnwanted()
    }
  }

  async setStatus(status: InstanceStatus, raw?: RegistrationCallOptions): Promise<void> {
    const options = checkCallOptions('setStatus()', raw, ['signal']) as RegistrationCallOptions
    this.#requireService('setStatus()')
    checkStatus('status', status)
    this.#requireOpen('setStatus()')
    options.signal?.throwIfAborted()
    this.#manual = status
    this.#refreshStatus()
    const version = this.#statusVersion
    await this.#waiters.wait(() => (this.#phase.kind !== 'active' || this.#keeper.appliedStatusVersion >= version ? 'done' : undefined), {
      timeoutMs: this.#o.registerTimeoutMs,
      signal: options.signal,
      onTimeout: () =>
        new TimeoutError(`setStatus('${status}') did not reach the server within ${this.#o.registerTimeoutMs} ms; still trying in the background`, {
          cause: this.#keeper.lastError,
        }),
    })
  }

  deregister(raw?: RegistrationCallOptions): Promise<void> {
    let options: RegistrationCallOptions
    try {
      options = checkCallOptions('deregister()', raw, ['signal']) as RegistrationCallOptions
    } catch (error) {
      return Promise.reject(error)
    }
    if (!this.#isOpen()) return this.#closing ?? Promise.resolve()
    this.#deregistering ??= this.#deregister(options).finally(() => (this.#deregistering = undefined))
    return this.#deregistering
  }

  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  /** The only place the phase changes: every transition is checked against registration-phase's table. */
  #enter(next: Phase): void {
    this.#phase = enterPhase(this.#phase, next)
  }

  #begin(bounded: boolean): void {
    const run = ++this.#runs
    this.#enter({ kind: 'active', run, bounded })
    if (!this.#health) return this.#keeper.start()
    // The first check runs before the first registration, so an unhealthy instance is never listed UP.
    void this.#health.start().then(() => {
      if (this.#phase.kind === 'active' && this.#phase.run === run) this.#keeper.start()
    })
  }

  /** No register() caller is bounding the loop any more: it keeps trying until deregister() or close(). */
  #unbound(): void {
    if (this.#phase.kind === 'active' && this.#phase.bounded) this.#enter({ ...this.#phase, bounded: false })
  }

  async #halt(): Promise<void> {
    if (this.#phase.kind === 'active') this.#enter(IDLE_PHASE)
    this.#health?.stop()
    await this.#keeper.stop()
    this.#waiters.recheck()
  }

  #registeredOutcome(): 'done' | GovernanceError | undefined {
    if (this.#keeper.lease) return 'done'
    const error = this.#keeper.lastError
    // Waiting out the timeout on a refusal (auth, bad request) would only delay the same answer.
    if (this.#phase.kind === 'active' && this.#phase.bounded && error && !error.retryable) return error
    return undefined
  }

  #giveUpIfUnwanted(): void {
    if (this.#phase.kind === 'active' && this.#phase.bounded && !this.#keeper.lease && this.#pendingRegisters.size === 0) {
      this.#ctx.logger.warn('register() gave up; not registered', { service: this.#o.service?.name, instanceId: this.instanceId })
      void this.#halt()
    }
  }

  #registerTimeoutError(): GovernanceError {
    const last = this.#keeper.lastError
    const what = `${this.#o.service?.name}/${this.instanceId}`
    const message = `register() did not complete within ${this.#o.registerTimeoutMs} ms: the server has not accepted ${what}`
    return new TimeoutError(last ? `${message} (last error: ${last.message})` : message, { cause: last, details: { service: this.#o.service?.name } })
  }

  async #deregister(options: RegistrationCallOptions): Promise<void> {
    options.signal?.throwIfAborted()
    // A register() still waiting goes first: the calls take effect in the order they were made.
    await Promise.allSettled([...this.#pendingRegisters])
    await this.#halt()
    await this.#deregisterLast(options.signal, true)
  }

  async #close(): Promise<void> {
    this.#enter({ kind: 'closing', markingDown: false })
    this.#waiters.rejectAll(() => new ClientClosedError('the client was closed before the registration finished'))
    this.#health?.stop()
    await this.#deregistering?.catch(() => {})
    if (this.#keeper.lease) await this.#markDownAndDrain()
    await this.#halt()
    await this.#deregisterLast(undefined, false)
    this.#enter({ kind: 'closed' })
  }

  async #markDownAndDrain(): Promise<void> {
    this.#keeper.stopReregistering()
    this.#enter({ kind: 'closing', markingDown: true })
    this.#refreshStatus()
    if (this.#keeper.appliedStatusVersion < this.#statusVersion && !(await this.#keeper.pushNow())) {
      this.#ctx.logger.warn('could not mark the instance DOWN before draining', { instanceId: this.instanceId, error: this.#keeper.lastError })
    }
    // Ref'd: an application awaiting close() must not exit mid-drain, before deregistering.
    if (this.#o.drainMs > 0) await new Promise((resolve) => setTimeout(resolve, this.#o.drainMs))
  }

  /** Deregisters the last lease obtained, if any; the keeper forgets it once the server has. */
  async #deregisterLast(signal: AbortSignal | undefined, rethrow: boolean): Promise<void> {
    const lease = this.#keeper.lastLease
    if (lease && (await this.#deregistrar.deregister(lease, signal, rethrow))) this.#keeper.forgetLease(lease)
  }

  #onHealth(status: InstanceStatus): void {
    this.#healthStatus = status
    this.#refreshStatus()
  }

  /** Shutdown wins, then a status set by the application other than UP, then the health check. */
  #refreshStatus(): void {
    const next = this.#phase.kind === 'closing' && this.#phase.markingDown ? 'DOWN' : this.#manual !== 'UP' ? this.#manual : (this.#healthStatus ?? 'UP')
    if (next === this.#status) return
    this.#status = next
    this.#statusVersion++
    if (this.#o.service) this.#emit('registry:statusChanged', { service: this.#o.service.name, instanceId: this.instanceId, status: next })
    this.#keeper.wake()
    this.#waiters.recheck()
  }

  #changed(): void {
    if (this.#keeper.lease) this.#unbound()
    this.#waiters.recheck()
  }

  #spec(): InstanceSpec {
    const s = this.#o.service as ResolvedServiceOptions
    return {
      id: this.instanceId,
      service: s.name,
      address: s.address,
      port: s.port,
      status: this.#status,
      metadata: s.metadata,
      tags: s.tags,
      ...(s.zone === undefined ? {} : { zone: s.zone }),
      weight: s.weight,
      ttlMs: this.#o.ttlMs,
    }
  }

  #requireService(what: string): void {
    if (!this.#o.service) throw new InvalidArgumentError(`${what} needs the \`service\` option`)
  }

  #isOpen(): boolean {
    return this.#phase.kind === 'idle' || this.#phase.kind === 'active'
  }

  #requireOpen(what: string): void {
    if (!this.#isOpen()) throw new ClientClosedError(`${what} was called after close()`)
  }
}
