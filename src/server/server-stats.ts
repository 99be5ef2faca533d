/**
 * The server's own counters: every limit that refused something, slow connections cut,
 * failed disk writes. Served under `stats` in GET /v1/health and meant for an exposition
 * endpoint to render later; `warn` logs each kind at most once per interval with the
 * number of repeats, so an attack cannot flood the log.
 */
import type { Logger } from '../internal/logger.js'

export const STAT_NAMES = [
  'connectionsRefused',
  'connectionsRefusedPerClient',
  'heldQueriesRefused',
  'heldQueriesRefusedPerClient',
  'instancesRefused',
  'servicesRefused',
  'configKeysRefused',
  'configBytesRefused',
  'valueBytesRefused',
  'seriesRefusedPerService',
  'seriesRefused',
  'bodiesTooLarge',
  'slowConnectionsClosed',
  'diskWriteFailures',
  'metricsInstancesExpired',
] as const

export type StatName = (typeof STAT_NAMES)[number]

export interface StatsSnapshot {
  readonly counters: Readonly<Record<StatName, number>>
  readonly connections: number
}

const LOG_INTERVAL_MS = 10_000

export class ServerStats {
  readonly #counters = new Map<StatName, number>()
  readonly #lastLog = new Map<string, { at: number; suppressed: number }>()
  readonly #logger: Logger
  /** Open connections now, kept by the connection guard. */
  connections = 0

  constructor(logger: Logger) {
    this.#logger = logger
  }

  count(name: StatName, by = 1): void {
    this.#counters.set(name, (this.#counters.get(name) ?? 0) + by)
  }

  get(name: StatName): number {
    return this.#counters.get(name) ?? 0
  }

  /** Counts `name` and warns about it, at most once per 10 s per message. */
  refuse(name: StatName, message: string, fields: Record<string, unknown> = {}): void {
    this.count(name)
    this.warn(message, fields)
  }

  /** A warning rate-limited per message text; `level` error for faults. */
  warn(message: string, fields: Record<string, unknown> = {}, level: 'warn' | 'error' = 'warn'): void {
    const now = Date.now()
    const last = this.#lastLog.get(message)
    if (last !== undefined && now - last.at < LOG_INTERVAL_MS) {
      last.suppressed += 1
      return
    }
    const repeats = last?.suppressed ?? 0
    this.#lastLog.set(message, { at: now, suppressed: 0 })
    this.#logger[level](message, repeats > 0 ? { ...fields, repeatsSinceLastLog: repeats } : fields)
  }

  snapshot(): StatsSnapshot {
    const counters = Object.fromEntries(STAT_NAMES.map((name) => [name, this.get(name)])) as Record<StatName, number>
    return { counters, connections: this.connections }
  }
}
