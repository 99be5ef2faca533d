/**
 * The reference server's resource limits (issue 13): one table of names, defaults and
 * ranges shared by the option checks, the CLI flags and docs/server.md.
 */
import { readFileSync } from 'node:fs'

export interface ServerLimits {
  /** Open connections in total; default: the descriptor limit less a reserve. */
  readonly maxConnections: number
  /** Open connections from one client address; default a quarter of maxConnections. */
  readonly maxConnectionsPerClient: number
  /** Blocking queries held at once. */
  readonly maxHeldQueries: number
  /** Blocking queries held at once for one client address. */
  readonly maxHeldQueriesPerClient: number
  readonly maxInstancesPerService: number
  /** Services that have instances. */
  readonly maxServices: number
  readonly maxConfigKeys: number
  /** Sum of the JSON text of every current config value. */
  readonly maxConfigBytes: number
  /** One config value's JSON text. */
  readonly maxValueBytes: number
  /** Metric series of one service, summed over its instances. */
  readonly maxSeriesPerService: number
  readonly maxSeries: number
  /** Time for the request line and headers to arrive. */
  readonly headersTimeoutMs: number
  /** Time for the whole request (headers and body) to arrive. */
  readonly requestTimeoutMs: number
  /** How long an idle keep-alive connection stays open. */
  readonly keepAliveTimeoutMs: number
  /** Deadline for each disk step of a config write (open, write, fsync, rename). */
  readonly diskTimeoutMs: number
}

export type LimitName = keyof ServerLimits

interface LimitSpec {
  readonly flag: string
  readonly min: number
  readonly max: number
  readonly fallback: (chosen: Partial<ServerLimits>) => number
}

const fixed = (n: number) => (): number => n

/** Soft RLIMIT_NOFILE from /proc (Linux); undefined elsewhere. */
export function descriptorLimit(): number | undefined {
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'))
    return line?.[1] === undefined || line[1] === 'unlimited' ? undefined : Number(line[1])
  } catch {
    return undefined
  }
}

/** Leaves descriptors for the config files, the listening socket and Node itself. */
function defaultMaxConnections(): number {
  const nofile = descriptorLimit() ?? 4_096
  return Math.max(16, Math.min(16_384, nofile - 64))
}

export const LIMIT_SPECS: Readonly<Record<LimitName, LimitSpec>> = {
  maxConnections: { flag: 'max-connections', min: 1, max: 1_000_000, fallback: defaultMaxConnections },
  maxConnectionsPerClient: {
    flag: 'max-connections-per-client',
    min: 1,
    max: 1_000_000,
    fallback: (c) => Math.max(8, Math.floor((c.maxConnections ?? defaultMaxConnections()) / 4)),
  },
  maxHeldQueries: { flag: 'max-held-queries', min: 1, max: 1_000_000, fallback: fixed(10_000) },
  maxHeldQueriesPerClient: { flag: 'max-held-queries-per-client', min: 1, max: 1_000_000, fallback: fixed(4_096) },
  maxInstancesPerService: { flag: 'max-instances-per-service', min: 1, max: 10_000_000, fallback: fixed(10_000) },
  maxServices: { flag: 'max-services', min: 1, max: 10_000_000, fallback: fixed(10_000) },
  maxConfigKeys: { flag: 'max-config-keys', min: 1, max: 10_000_000, fallback: fixed(10_000) },
  maxConfigBytes: { flag: 'max-config-bytes', min: 1_024, max: 2 ** 40, fallback: fixed(256 * 1024 * 1024) },
  maxValueBytes: { flag: 'max-value-bytes', min: 16, max: 64 * 1024 * 1024, fallback: fixed(512 * 1024) },
  maxSeriesPerService: { flag: 'max-series-per-service', min: 1, max: 100_000_000, fallback: fixed(20_000) },
  maxSeries: { flag: 'max-series', min: 1, max: 100_000_000, fallback: fixed(200_000) },
  headersTimeoutMs: { flag: 'headers-timeout-ms', min: 1_000, max: 600_000, fallback: fixed(20_000) },
  requestTimeoutMs: { flag: 'request-timeout-ms', min: 1_000, max: 3_600_000, fallback: fixed(120_000) },
  keepAliveTimeoutMs: { flag: 'keep-alive-timeout-ms', min: 100, max: 600_000, fallback: fixed(5_000) },
  diskTimeoutMs: { flag: 'disk-timeout-ms', min: 100, max: 600_000, fallback: fixed(10_000) },
}

export const LIMIT_NAMES = Object.keys(LIMIT_SPECS) as LimitName[]

/**
 * Fills the defaults; `check(name, value, min, max)` validates a given value (the option
 * checks pass theirs, so messages name the option). Timeouts are ordered as Node needs:
 * the header deadline cannot exceed the whole request's.
 */
export function resolveLimits(given: Partial<Record<LimitName, unknown>>, check: (name: LimitName, value: unknown, min: number, max: number) => number): ServerLimits {
  const chosen: Partial<Record<LimitName, number>> = {}
  for (const name of LIMIT_NAMES) {
    if (given[name] !== undefined) chosen[name] = check(name, given[name], LIMIT_SPECS[name].min, LIMIT_SPECS[name].max)
  }
  const out: Partial<Record<LimitName, number>> = {}
  for (const name of LIMIT_NAMES) out[name] = chosen[name] ?? LIMIT_SPECS[name].fallback(chosen)
  const limits = out as unknown as ServerLimits
  return { ...limits, headersTimeoutMs: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) }
}
