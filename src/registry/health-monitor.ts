/**
 * Runs the application's health check on its own unref'd timer, one run at a time, and
 * turns each answer into a status. A check that throws, hangs past its interval or answers
 * nonsense counts as DOWN: an instance that cannot say it is healthy should not get traffic.
 */
import type { Logger } from '../internal/logger.js'
import { unrefTimeout } from '../internal/timers.js'
import { INSTANCE_STATUSES, type InstanceStatus } from '../types.js'
import type { HealthCheck } from './options.js'
import { describeValue } from '../internal/describe.js'

export class HealthMonitor {
  readonly #check: HealthCheck
  readonly #intervalMs: number
  readonly #logger: Logger
  readonly #onStatus: (status: InstanceStatus) => void
  #timer: NodeJS.Timeout | undefined
  /** Bumped by start/stop so that a run that outlives a stop cannot report or reschedule. */
  #generation = 0
  #last: InstanceStatus | undefined

  constructor(check: HealthCheck, intervalMs: number, logger: Logger, onStatus: (status: InstanceStatus) => void) {
    this.#check = check
    this.#intervalMs = intervalMs
    this.#logger = logger
    this.#onStatus = onStatus
  }

  /** Starts checking; resolves after the first check has reported (never rejects). */
  start(): Promise<void> {
    this.stop()
    return this.#run(this.#generation)
  }

  stop(): void {
    this.#generation++
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  async #run(generation: number): Promise<void> {
    const status = await this.#evaluate()
    if (generation !== this.#generation) return
    if (status !== this.#last) {
      if (this.#last !== undefined) this.#logger.info('health check status changed', { from: this.#last, to: status })
      this.#last = status
    }
    this.#onStatus(status)
    this.#timer = unrefTimeout(() => void this.#run(generation), this.#intervalMs)
  }

  async #evaluate(): Promise<InstanceStatus> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<'timeout'>((resolve) => (timer = unrefTimeout(() => resolve('timeout'), this.#intervalMs)))
    try {
      const result = await Promise.race([Promise.resolve().then(this.#check), timeout])
      if (result === 'timeout') return this.#unhealthy(`did not answer within ${this.#intervalMs} ms`)
      if (result === true) return 'UP'
      if (result === false) return 'DOWN'
      if ((INSTANCE_STATUSES as readonly unknown[]).includes(result)) return result
      return this.#unhealthy(`answered ${describeValue(result)}, not a status or a boolean`)
    } catch (error) {
      return this.#unhealthy('threw', error)
    } finally {
      clearTimeout(timer)
    }
  }

  #unhealthy(why: string, error?: unknown): InstanceStatus {
    // Logged only on the transition, so a check that keeps failing does not flood the log.
    if (this.#last !== 'DOWN') this.#logger.warn(`health check ${why}; reporting DOWN`, error === undefined ? {} : { error })
    return 'DOWN'
  }
}
