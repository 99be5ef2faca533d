/** Routing's per-request record: in-flight count, latency, outlier outcome and upstream metrics. */
import type { Logger } from '../internal/logger.js'
import type { RequestTracker } from '../routing/types.js'
import type { OutlierDetector } from './outlier.js'
import type { InstanceStats } from './stats.js'
import type { UpstreamOutcome, UpstreamRecorder } from './types.js'

export class Tracker implements RequestTracker {
  readonly hostPort: string
  readonly #service: string
  readonly #stats: InstanceStats
  readonly #outlier: OutlierDetector | undefined
  readonly #upstream: UpstreamRecorder | undefined
  readonly #logger: Logger
  readonly #startedAt = performance.now()
  #ended = false

  constructor(service: string, stats: InstanceStats, outlier: OutlierDetector | undefined, upstream: UpstreamRecorder | undefined, logger: Logger) {
    this.#service = service
    this.#stats = stats
    this.#outlier = outlier
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
    const failed = outcome.error === true || (outcome.status !== undefined && outcome.status >= 500)
    if (failed) this.#outlier?.failure(stats)
    else this.#outlier?.success(stats)
    try {
      this.#upstream?.record(this.#service, outcome, durationMs)
    } catch (error) {
      this.#logger.warn('discovery: the upstream recorder threw', { service: this.#service, error })
    }
  }
}
