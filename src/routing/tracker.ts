/** Routing's per-request record: in-flight count, latency, the outcome for ejection and upstream metrics. */
import type { InstanceStats } from '../balancer/stats.js'
import type { Logger } from '../internal/logger.js'
import type { UpstreamRecorder } from '../metrics/upstream.js'
import type { UpstreamOutcome } from '../types.js'
import type { RequestTracker } from './types.js'

export class Tracker implements RequestTracker {
  readonly hostPort: string
  readonly #service: string
  readonly #stats: InstanceStats
  readonly #upstream: UpstreamRecorder | undefined
  readonly #logger: Logger
  readonly #startedAt = performance.now()
  #ended = false

  constructor(service: string, stats: InstanceStats, upstream: UpstreamRecorder | undefined, logger: Logger) {
    this.#service = service
    this.#stats = stats
    this.#upstream = upstream
    this.#logger = logger
    this.hostPort = stats.hostPort
    stats.inflight++
  }

  end(outcome: UpstreamOutcome): void {
    if (this.#ended) return
    this.#ended = true
    const durationMs = performance.now() - this.#startedAt
    const stats = this.#stats
    stats.inflight--
    if (outcome.status !== undefined) stats.sample(durationMs)
    stats.outcome(outcome.error === true || (outcome.status !== undefined && outcome.status >= 500))
    try {
      this.#upstream?.record(this.#service, outcome, durationMs)
    } catch (error) {
      this.#logger.warn('routing: the upstream recorder threw', { service: this.#service, error })
    }
  }
}
