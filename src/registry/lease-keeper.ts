/**
 * The one loop that keeps this instance registered: register, renew every interval, push
 * status changes, re-register when the lease is lost, back off while the server is away.
 * Where it stands is one KeeperState (keeper-state.ts), changed only through #enter(); the
 * loop machinery is SerialLoop. Every timer unref'd; stop() ends it. It never throws into
 * the application: failures become events and log lines.
 */
import type { Backend } from '../backend.js'
import { ClientClosedError, LeaseLostError, toGovernanceError, type GovernanceError } from '../errors.js'
import type { EmitFn } from '../events.js'
import type { Logger } from '../internal/logger.js'
import type { Clock } from '../internal/timers.js'
import type { Instance, InstanceSpec, Lease } from '../types.js'
import { registerCall, renewCall, statusUpdateCall } from './keeper-calls.js'
import { LeaseDeadline } from './lease-deadline.js'
import { IDLE, enter, failed, hold, lose, reschedule, startRegistering, type HeldState, type KeeperState, type LossReason, type RunningState } from './keeper-state.js'
import { OverrideNotice, reportFailure, type ReportTarget } from './keeper-reports.js'
import { PushRequests } from './push-requests.js'
import { SerialLoop, type LoopStep } from './serial-loop.js'
import { REREGISTER_MIN_INTERVAL_MS, heartbeatDelay, leaseTiming, retryDelay } from './timing.js'

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
  readonly #report: ReportTarget
  readonly #loop: SerialLoop<Action>
  readonly #pushes = new PushRequests()
  readonly #overrides = new OverrideNotice()
  #state: KeeperState = IDLE
  /** The most recent lease obtained, kept after a loss or stop so that it can be deregistered. */
  #lastLease: Lease | undefined
  #epoch = 0
  #appliedVersion = -1
  /** The heartbeat interval the last applied TTL allows (it outlives the lease: backoff scales with it). */
  #renewEveryMs: number
  readonly #deadline: LeaseDeadline
  #lastReregisterAt = Number.NEGATIVE_INFINITY
  /** Cleared by stopReregistering() for the rest of this run. */
  #reregister = true

  constructor(deps: KeeperDeps) {
    this.#d = deps
    this.#report = { logger: deps.logger, emit: deps.emit, service: deps.service, instanceId: deps.instanceId }
    this.#renewEveryMs = deps.intervalMs
    this.#deadline = new LeaseDeadline(deps.deadline, () => this.#lose('deadline'))
    this.#loop = new SerialLoop<Action>({
      next: () => this.#next(),
      perform: (action, signal) => this.#perform(action, signal),
      performed: () => this.#d.host.changed(),
      fault: (error) => {
        // A bug here must not end the registration silently; log it and carry on.
        this.#d.logger.error('registration loop fault', { error })
        return this.#renewEveryMs
      },
    })
  }

  get running(): boolean {
    return this.#loop.running
  }
  get state(): KeeperState {
    return this.#state
  }
  /** The lease the server holds for us now, as far as we know. */
  get lease(): Lease | undefined {
    return this.#state.kind === 'held' ? this.#state.lease : undefined
  }
  get lastLease(): Lease | undefined {
    return this.#lastLease
  }
  get instance(): Instance | undefined {
    return this.#state.kind === 'held' ? this.#state.instance : undefined
  }
  get epoch(): number {
    return this.#epoch
  }
  get lastError(): GovernanceError | undefined {
    return this.#state.kind === 'idle' ? undefined : this.#state.lastError
  }
  get appliedStatusVersion(): number {
    return this.#appliedVersion
  }

  start(): void {
    const from = this.#state
    if (this.#loop.running || from.kind !== 'idle') return
    this.#reregister = true
    this.#pushes.withdraw()
    this.#enter(startRegistering(from, this.#d.clock.now()))
    this.#loop.start()
  }

  /** Ends the loop and any call in flight; resolves once the loop has exited. */
  async stop(): Promise<void> {
    if (!this.#loop.running) return
    // Idle before waiting, so that a start() during the wait begins clean.
    this.#enter(IDLE)
    const exited = this.#loop.stop(new ClientClosedError('registration stopped'))
    this.#deadline.clear()
    this.#pushes.settle(false)
    await exited
  }

  /** From now on a lost lease is not re-registered (the client is shutting down). */
  stopReregistering(): void {
    this.#reregister = false
    this.#loop.wake()
  }

  /** The status changed: push it at the next chance (at once unless backing off). */
  wake(): void {
    this.#loop.wake()
  }

  /** Pushes the current status now, backoff or not; resolves true when the server took it. */
  pushNow(): Promise<boolean> {
    if (this.#state.kind !== 'held' || !this.running) return Promise.resolve(false)
    const result = this.#pushes.request()
    // A heartbeat stuck on a slow server must not hold up the shutdown's DOWN.
    this.#loop.abortCurrent(new ClientClosedError('heartbeat superseded by a status push'), 'renew')
    this.#loop.wake()
    return result
  }

  /** Forgets the last lease once it has been deregistered. */
  forgetLease(lease: Lease): void {
    if (this.#lastLease === lease) this.#lastLease = undefined
  }

  /** The only place the state changes: every transition is checked against keeper-state's table. */
  #enter(next: KeeperState): void {
    this.#state = enter(this.#state, next)
  }

  #next(): LoopStep<Action> {
    const s = this.#state
    if (s.kind === 'idle') return { action: 'wait', dueInMs: Number.POSITIVE_INFINITY }
    const action: Action = s.kind !== 'held' ? (this.#reregister ? 'register' : 'wait') : this.#pushes.forced || this.#appliedVersion < this.#d.host.statusVersion() ? 'push' : 'renew'
    return { action, dueInMs: this.#dueIn(action, s) }
  }

  #dueIn(action: Action, s: RunningState): number {
    if (action === 'wait') return Number.POSITIVE_INFINITY
    if (action === 'push' && (this.#pushes.forced || s.failures === 0)) return 0
    const now = this.#d.clock.now()
    // Repairs a wall clock that jumped backwards: no pause is ever longer than this.
    const longest = Math.max(this.#renewEveryMs, REREGISTER_MIN_INTERVAL_MS)
    if (s.nextAt - now > longest) this.#enter(reschedule(s, now + longest))
    return Math.max(0, (this.#state as RunningState).nextAt - now)
  }

  #perform(action: Action, signal: AbortSignal): Promise<void> {
    if (action === 'register') return this.#register(signal)
    if (action === 'renew') return this.#renew(signal)
    if (action === 'push') return this.#push(signal)
    return Promise.resolve()
  }

  /** The first registration of a run, or a re-registration after the lease was lost. */
  async #register(signal: AbortSignal): Promise<void> {
    if (this.#state.kind === 'lost') this.#lastReregisterAt = this.#d.clock.now()
    const spec = this.#d.host.spec()
    const version = this.#d.host.statusVersion()
    const started = this.#d.clock.now()
    let lease: Lease
    try {
      lease = await registerCall(this.#d, spec, signal)
    } catch (error) {
      if (!signal.aborted) this.#failed(error, 'register')
      return
    }
    this.#lastLease = lease
    if (signal.aborted) return
    this.#epoch++
    this.#adopt(lease, spec, version, started)
    this.#d.logger.info('registered', { service: spec.service, instanceId: spec.id, epoch: this.#epoch, status: spec.status })
    this.#d.emit('registry:registered', { service: spec.service, instanceId: spec.id, epoch: this.#epoch })
  }

  async #renew(signal: AbortSignal): Promise<void> {
    const { lease, instance } = this.#state as HeldState
    const started = this.#d.clock.now()
    try {
      const result = await renewCall(this.#d, lease, signal)
      if (signal.aborted || this.lease !== lease) return
      this.#succeeded(lease, instance, started, result.ttlMs)
      this.#d.emit('registry:renewed', { service: this.#d.service, instanceId: this.#d.instanceId, ttlMs: result.ttlMs })
      this.#overrides.note(this.#report, result.override)
    } catch (error) {
      if (signal.aborted || this.lease !== lease) return
      if (error instanceof LeaseLostError) this.#lose('server')
      else this.#failed(error, 'renew')
    }
  }

  /**
   * A status change (statusUpdateCall keeps the lease where the backend can). A renew goes
   * first: an upsert alone would silently recreate an instance the server had lost, and the
   * epoch would not tell fencing code that ownership lapsed.
   */
  async #push(signal: AbortSignal): Promise<void> {
    this.#pushes.taken()
    const { lease } = this.#state as HeldState
    const started = this.#d.clock.now()
    try {
      await renewCall(this.#d, lease, signal)
      if (signal.aborted || this.lease !== lease) return
      const spec = this.#d.host.spec()
      const version = this.#d.host.statusVersion()
      const next = await statusUpdateCall(this.#d, lease, spec, signal)
      this.#lastLease = next
      if (signal.aborted || this.lease !== lease) return
      this.#adopt(next, spec, version, started)
      this.#pushes.settle(true)
    } catch (error) {
      if (signal.aborted || this.lease !== lease) return
      if (error instanceof LeaseLostError) this.#lose('server')
      else this.#failed(error, 'status update')
      this.#pushes.settle(false)
    }
  }

  /** The server accepted `spec` (with status `version`) under `lease`. */
  #adopt(lease: Lease, spec: InstanceSpec, version: number, started: number): void {
    const { ttlMs: _ttl, ...instance } = spec
    this.#lastLease = lease
    this.#appliedVersion = Math.max(this.#appliedVersion, version)
    this.#succeeded(lease, instance, started, lease.ttlMs)
  }

  #succeeded(lease: Lease, instance: Instance, started: number, appliedTtlMs: number): void {
    const from = this.#state as RunningState
    if (from.failures > 0) this.#d.logger.info('registration recovered', { service: this.#d.service, afterFailures: from.failures })
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
    this.#enter(hold(from, lease, instance, Math.max(started + heartbeatDelay(this.#renewEveryMs, this.#d.random), now + minGap)))
    this.#deadline.arm(Math.max(0, timing.deadlineAfterMs - (now - started)))
  }

  #failed(error: unknown, what: string): void {
    const err = toGovernanceError(error, `${what} failed`)
    const from = this.#state as RunningState
    const failures = from.failures + 1
    this.#enter(failed(from, err, this.#d.clock.now() + retryDelay(failures, this.#renewEveryMs, this.#d.random)))
    const final = what === 'register' && from.kind !== 'held' && (this.#d.host.refusalEndsRegistration?.() ?? false)
    reportFailure(this.#report, what, err, failures, final)
  }

  #lose(reason: LossReason): void {
    const from = this.#state
    if (from.kind !== 'held') return
    const epoch = this.#epoch
    const now = this.#d.clock.now()
    this.#deadline.clear()
    this.#pushes.withdraw()
    this.#enter(lose(from, reason, now, Math.max(now, this.#lastReregisterAt + REREGISTER_MIN_INTERVAL_MS)))
    this.#loop.abortCurrent(new ClientClosedError('lease lost'))
    this.#d.logger.warn('lease lost; re-registering', { service: this.#d.service, instanceId: this.#d.instanceId, epoch, reason })
    this.#d.emit('registry:leaseLost', { service: this.#d.service, instanceId: this.#d.instanceId, epoch, reason })
    this.#pushes.settle(false)
    this.#d.host.changed()
    this.#loop.wake()
  }
}
