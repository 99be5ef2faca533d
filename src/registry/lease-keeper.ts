/**
 * The one loop that keeps this instance registered: register, renew every interval, push
 * status changes, re-register when the lease is lost, back off while the server is away.
 * One operation at a time (never two heartbeats in flight); every timer unref'd; stop()
 * ends it. It never throws into the application: failures become events and log lines.
 */
import type { Backend, CallContext } from '../backend.js'
import { ClientClosedError, LeaseLostError, isRetryableError, type GovernanceError } from '../errors.js'
import type { EmitFn } from '../events.js'
import type { Logger } from '../internal/logger.js'
import type { Clock } from '../internal/timers.js'
import { unrefTimeout } from '../internal/timers.js'
import type { Instance, InstanceOverride, InstanceSpec, Lease } from '../types.js'
import { checkLease, checkRenewal } from './answers.js'
import { asGovernanceError, guardedCall } from './guarded-call.js'
import { REREGISTER_MIN_INTERVAL_MS, heartbeatDelay, leaseTiming, retryDelay } from './timing.js'

export type KeeperState = 'registering' | 'registered' | 'renewing-failed' | 'lost'
type Action = 'register' | 'renew' | 'push' | 'wait'

/** What the keeper asks of its owner. */
export interface KeeperHost {
  /** The instance to register now, with the current status. */
  spec(): InstanceSpec
  /** Increases with every status change; the keeper records which one reached the server. */
  statusVersion(): number
  /** Called after every state change, so that waiters can re-check. */
  changed(): void
  /**
   * True when a refused registration ends the attempt (a register() caller gets the error
   * and the loop stops); false when the loop keeps trying. Only changes what the log says.
   */
  refusalEndsRegistration?(): boolean
}

export interface KeeperDeps {
  readonly backend: Backend
  readonly emit: EmitFn
  readonly logger: Logger
  readonly clock: Clock
  readonly requestTimeoutMs: number
  readonly intervalMs: number
  readonly marginMs: number
  /** False for backends whose registrations never expire: no deadline to watch. */
  readonly deadline: boolean
  readonly random: () => number
  readonly service: string
  readonly instanceId: string
  readonly host: KeeperHost
}

export class LeaseKeeper {
  readonly #d: KeeperDeps
  #state: KeeperState = 'registering'
  #loop: Promise<void> | undefined
  #loopController: AbortController | undefined
  #opController: AbortController | undefined
  #currentAction: Action | undefined
  #lease: Lease | undefined
  #lastLease: Lease | undefined
  #instance: Instance | undefined
  #epoch = 0
  #failures = 0
  #lastError: GovernanceError | undefined
  #appliedVersion = -1
  #nextAt = 0
  #renewEveryMs: number
  #deadlineTimer: NodeJS.Timeout | undefined
  #lossRegisterPending = false
  #lastLossRegisterAt = Number.NEGATIVE_INFINITY
  #reregister = true
  #forcePush = false
  #pushWaiters: ((ok: boolean) => void)[] = []
  #wake: (() => void) | undefined
  /** The override the last heartbeat answer reported, as JSON, to emit only on a change. */
  #override = ''

  readonly #emit: EmitFn

  constructor(deps: KeeperDeps) {
    this.#d = deps
    this.#emit = deps.emit
    this.#renewEveryMs = deps.intervalMs
  }

  get running(): boolean {
    return this.#loopController !== undefined
  }
  get state(): KeeperState {
    return this.#state
  }
  /** The lease the server holds for us now, as far as we know. */
  get lease(): Lease | undefined {
    return this.#lease
  }
  /** The most recent lease obtained, kept after a loss or stop so that it can be deregistered. */
  get lastLease(): Lease | undefined {
    return this.#lastLease
  }
  get instance(): Instance | undefined {
    return this.#lease ? this.#instance : undefined
  }
  get epoch(): number {
    return this.#epoch
  }
  get failures(): number {
    return this.#failures
  }
  get lastError(): GovernanceError | undefined {
    return this.#lastError
  }
  get appliedStatusVersion(): number {
    return this.#appliedVersion
  }

  start(): void {
    if (this.#loopController) return
    this.#state = 'registering'
    this.#failures = 0
    this.#lastError = undefined
    this.#reregister = true
    this.#forcePush = false
    this.#lossRegisterPending = false
    this.#nextAt = this.#d.clock.now()
    const controller = (this.#loopController = new AbortController())
    this.#loop = this.#run(controller.signal)
  }

  /** Ends the loop and any call in flight; resolves once the loop has exited. */
  async stop(): Promise<void> {
    const controller = this.#loopController
    if (!controller) return
    // Everything is cleared before waiting, so that a start() during the wait begins clean.
    this.#loopController = undefined
    this.#lease = undefined
    controller.abort()
    this.#opController?.abort(new ClientClosedError('registration stopped'))
    this.#clearDeadline()
    this.#wake?.()
    this.#settlePush(false)
    await this.#loop
  }

  /** From now on a lost lease is not re-registered (the client is shutting down). */
  stopReregistering(): void {
    this.#reregister = false
    this.#wake?.()
  }

  /** The status changed: push it at the next chance (at once unless backing off). */
  wake(): void {
    this.#wake?.()
  }

  /** Pushes the current status now, backoff or not; resolves true when the server took it. */
  pushNow(): Promise<boolean> {
    if (!this.#lease || !this.running) return Promise.resolve(false)
    this.#forcePush = true
    const result = new Promise<boolean>((resolve) => this.#pushWaiters.push(resolve))
    // A heartbeat stuck on a slow server must not hold up the shutdown's DOWN.
    if (this.#currentAction === 'renew') this.#opController?.abort(new ClientClosedError('heartbeat superseded by a status push'))
    this.#wake?.()
    return result
  }

  /** Forgets the last lease once it has been deregistered. */
  forgetLease(lease: Lease): void {
    if (this.#lastLease === lease) this.#lastLease = undefined
  }

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const action = this.#nextAction()
        const due = this.#dueIn(action)
        if (due > 0) await this.#pause(due, signal)
        else await this.#perform(action, signal)
      } catch (error) {
        // A bug here must not end the registration silently; log it and carry on.
        this.#d.logger.error('registration loop fault', { error })
        await this.#pause(this.#renewEveryMs, signal)
      }
    }
  }

  #nextAction(): Action {
    if (!this.#lease) return this.#reregister ? 'register' : 'wait'
    if (this.#forcePush || this.#appliedVersion < this.#d.host.statusVersion()) return 'push'
    return 'renew'
  }

  #dueIn(action: Action): number {
    if (action === 'wait') return Number.POSITIVE_INFINITY
    if (action === 'push' && (this.#forcePush || this.#failures === 0)) return 0
    const now = this.#d.clock.now()
    // Repairs a wall clock that jumped backwards: no pause is ever longer than this.
    const longest = Math.max(this.#renewEveryMs, REREGISTER_MIN_INTERVAL_MS)
    if (this.#nextAt - now > longest) this.#nextAt = now + longest
    return Math.max(0, this.#nextAt - now)
  }

  #pause(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        signal.removeEventListener('abort', done)
        if (this.#wake === done) this.#wake = undefined
        resolve()
      }
      const timer = Number.isFinite(ms) ? unrefTimeout(done, ms) : undefined
      signal.addEventListener('abort', done, { once: true })
      this.#wake = done
    })
  }

  async #perform(action: Action, loopSignal: AbortSignal): Promise<void> {
    const op = (this.#opController = new AbortController())
    this.#currentAction = action
    const onStop = (): void => op.abort(loopSignal.reason)
    loopSignal.addEventListener('abort', onStop, { once: true })
    try {
      if (action === 'register') await this.#register(op.signal)
      else if (action === 'renew') await this.#renew(op.signal)
      else if (action === 'push') await this.#push(op.signal)
    } finally {
      loopSignal.removeEventListener('abort', onStop)
      if (this.#opController === op) {
        this.#opController = undefined
        this.#currentAction = undefined
      }
      this.#d.host.changed()
    }
  }

  #call<T>(what: string, call: (ctx: { signal?: AbortSignal; timeoutMs?: number }) => Promise<T>, signal: AbortSignal): Promise<T> {
    return guardedCall(`${what} of ${this.#d.service}/${this.#d.instanceId}`, call, this.#d.requestTimeoutMs, signal)
  }

  async #register(signal: AbortSignal): Promise<void> {
    if (this.#lossRegisterPending) this.#lastLossRegisterAt = this.#d.clock.now()
    const spec = this.#d.host.spec()
    const version = this.#d.host.statusVersion()
    const started = this.#d.clock.now()
    let lease: Lease
    try {
      lease = checkLease(this.#d.backend.name, spec, await this.#call('register', (ctx) => this.#d.backend.register(spec, ctx), signal))
    } catch (error) {
      if (!signal.aborted) this.#failed(error, 'register')
      return
    }
    this.#lastLease = lease
    if (signal.aborted) return
    this.#lossRegisterPending = false
    this.#epoch++
    this.#adopt(lease, spec, version)
    this.#succeeded(started, lease.ttlMs)
    this.#d.logger.info('registered', { service: spec.service, instanceId: spec.id, epoch: this.#epoch, status: spec.status })
    this.#emit('registry:registered', { service: spec.service, instanceId: spec.id, epoch: this.#epoch })
  }

  async #renew(signal: AbortSignal): Promise<void> {
    const lease = this.#lease as Lease
    const started = this.#d.clock.now()
    try {
      const result = checkRenewal(this.#d.backend.name, lease, await this.#call('renew', (ctx) => this.#d.backend.renew(lease, ctx), signal))
      if (signal.aborted || this.#lease !== lease) return
      this.#succeeded(started, result.ttlMs)
      this.#emit('registry:renewed', { service: this.#d.service, instanceId: this.#d.instanceId, ttlMs: result.ttlMs })
      this.#noteOverride(result.override)
    } catch (error) {
      if (signal.aborted || this.#lease !== lease) return
      if (error instanceof LeaseLostError) this.#lose('server')
      else this.#failed(error, 'renew')
    }
  }

  /** Tells the application when an operator takes over (or hands back) this instance's status or weight. */
  #noteOverride(override: InstanceOverride | undefined): void {
    const seen = override === undefined ? '' : JSON.stringify([override.status, override.weight])
    if (seen === this.#override) return
    this.#override = seen
    this.#d.logger.info(override ? 'an operator overrides this instance' : 'the operator override of this instance was cleared', { service: this.#d.service, instanceId: this.#d.instanceId, ...override })
    this.#emit('registry:overridden', { service: this.#d.service, instanceId: this.#d.instanceId, override })
  }

  /**
   * A status change goes through `backend.update()` when the backend has it (the lease is
   * kept), else it is a register (upsert) with the new status. A renew goes first: an
   * upsert alone would silently recreate an instance the server had lost, and the epoch
   * would not tell fencing code that ownership lapsed.
   */
  async #push(signal: AbortSignal): Promise<void> {
    this.#forcePush = false
    const lease = this.#lease as Lease
    const started = this.#d.clock.now()
    try {
      checkRenewal(this.#d.backend.name, lease, await this.#call('renew', (ctx) => this.#d.backend.renew(lease, ctx), signal))
      if (signal.aborted || this.#lease !== lease) return
      const spec = this.#d.host.spec()
      const version = this.#d.host.statusVersion()
      const next = checkLease(this.#d.backend.name, spec, await this.#call('status update', (ctx) => this.#sendChange(lease, spec, ctx), signal))
      this.#lastLease = next
      if (signal.aborted || this.#lease !== lease) return
      this.#adopt(next, spec, version)
      this.#succeeded(started, next.ttlMs)
      this.#settlePush(true)
    } catch (error) {
      if (signal.aborted || this.#lease !== lease) return
      if (error instanceof LeaseLostError) this.#lose('server')
      else this.#failed(error, 'status update')
      this.#settlePush(false)
    }
  }

  #sendChange(lease: Lease, spec: InstanceSpec, ctx: CallContext): Promise<Lease> {
    const backend = this.#d.backend
    return backend.update ? backend.update(lease, { status: spec.status, weight: spec.weight }, ctx) : backend.register(spec, ctx)
  }

  #adopt(lease: Lease, spec: InstanceSpec, version: number): void {
    const { ttlMs: _ttl, ...instance } = spec
    this.#lease = lease
    this.#lastLease = lease
    this.#instance = instance
    this.#appliedVersion = Math.max(this.#appliedVersion, version)
  }

  #succeeded(started: number, appliedTtlMs: number): void {
    if (this.#failures > 0) this.#d.logger.info('registration recovered', { service: this.#d.service, afterFailures: this.#failures })
    this.#failures = 0
    this.#lastError = undefined
    this.#state = 'registered'
    const timing = leaseTiming(appliedTtlMs, this.#d.intervalMs, this.#d.marginMs)
    if (timing.renewEveryMs !== this.#renewEveryMs && timing.renewEveryMs < this.#d.intervalMs) {
      this.#d.logger.warn('the server applied a TTL shorter than the heartbeat interval allows; heartbeating faster', {
        appliedTtlMs,
        renewEveryMs: timing.renewEveryMs,
      })
    }
    this.#renewEveryMs = timing.renewEveryMs
    const now = this.#d.clock.now()
    // Cadence from the call's start; but a slow server still gets a gap between calls.
    const minGap = Math.ceil(this.#renewEveryMs / 10)
    this.#nextAt = Math.max(started + heartbeatDelay(this.#renewEveryMs, this.#d.random), now + minGap)
    this.#armDeadline(Math.max(0, timing.deadlineAfterMs - (now - started)))
  }

  #failed(error: unknown, what: string): void {
    const err = asGovernanceError(error, what)
    this.#failures++
    this.#lastError = err
    if (this.#lease) this.#state = 'renewing-failed'
    this.#nextAt = this.#d.clock.now() + retryDelay(this.#failures, this.#renewEveryMs, this.#d.random)
    const fields = { service: this.#d.service, instanceId: this.#d.instanceId, failures: this.#failures, error: err }
    // The first failure and every tenth are warnings; the rest would only flood the log.
    if (!isRetryableError(err)) this.#d.logger.error(refusalMessage(what, err, what === 'register' && !this.#lease && (this.#d.host.refusalEndsRegistration?.() ?? false)), fields)
    else if (this.#failures === 1 || this.#failures % 10 === 0) this.#d.logger.warn(`${what} failed; retrying with backoff`, fields)
    else this.#d.logger.debug(`${what} failed; retrying with backoff`, fields)
    this.#emit('registry:renewFailed', { service: this.#d.service, instanceId: this.#d.instanceId, failures: this.#failures, error: err })
  }

  #lose(reason: 'server' | 'deadline'): void {
    const epoch = this.#epoch
    this.#lease = undefined
    this.#clearDeadline()
    this.#state = 'lost'
    this.#lossRegisterPending = true
    this.#forcePush = false
    // The server answered, so it is reachable: no backoff, only the re-registration rate limit.
    if (reason === 'server') this.#failures = 0
    this.#nextAt = Math.max(this.#d.clock.now(), this.#lastLossRegisterAt + REREGISTER_MIN_INTERVAL_MS)
    this.#opController?.abort(new ClientClosedError('lease lost'))
    this.#d.logger.warn('lease lost; re-registering', { service: this.#d.service, instanceId: this.#d.instanceId, epoch, reason })
    this.#emit('registry:leaseLost', { service: this.#d.service, instanceId: this.#d.instanceId, epoch, reason })
    this.#settlePush(false)
    this.#d.host.changed()
    this.#wake?.()
  }

  #armDeadline(ms: number): void {
    this.#clearDeadline()
    if (!this.#d.deadline) return
    this.#deadlineTimer = unrefTimeout(() => {
      this.#deadlineTimer = undefined
      if (this.#lease) this.#lose('deadline')
    }, ms)
  }

  #clearDeadline(): void {
    clearTimeout(this.#deadlineTimer)
    this.#deadlineTimer = undefined
  }

  #settlePush(ok: boolean): void {
    const waiters = this.#pushWaiters
    this.#pushWaiters = []
    for (const resolve of waiters) resolve(ok)
  }
}

/** A refusal is final when register() gives up on it; an auth refusal names the credentials. */
function refusalMessage(what: string, error: GovernanceError, final: boolean): string {
  const fix = error.code === 'GOV_AUTH_REFUSED' ? 'check the credentials (token, user, password)' : 'check the instance and the options'
  return final ? `${what} rejected by the server (${error.code}); not retrying, register() rejects: ${fix}` : `${what} rejected by the server (${error.code}); will keep trying: ${fix}`
}
