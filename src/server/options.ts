/** The reference server's options, checked eagerly with messages naming the option. */
import { InvalidArgumentError } from '../errors.js'
import { silentLogger, type Logger } from '../internal/logger.js'
import { LIMIT_NAMES, resolveLimits, type ServerLimits } from './limits.js'

/**
 * Every option of `createGovernanceServer`. The limits (`maxConnections` … `diskTimeoutMs`,
 * see ServerLimits and docs/server.md) are options of their own beside these.
 */
export interface GovernanceServerOptions extends Partial<ServerLimits> {
  /** TCP port; 0 (the default) picks a free one. */
  readonly port?: number
  /** Address to bind; default `127.0.0.1`. */
  readonly host?: string
  /** Where config is persisted; absent keeps config in memory only. */
  readonly dataDir?: string
  /** A token with read and write rights. */
  readonly token?: string
  /** A token that may only read (GET). */
  readonly readToken?: string
  /** More tokens of either kind (rotation). */
  readonly tokens?: { readonly read?: readonly string[]; readonly write?: readonly string[] }
  /** Largest request body accepted; default 1 MiB (protocol section 3). */
  readonly maxBodyBytes?: number
  /** Default: silent. */
  readonly logger?: Logger
  /** Metrics of an instance that sent nothing for this long are dropped; default one hour. */
  readonly metricsRetentionMs?: number
  /** How long close() lets in-flight requests finish before cutting connections; default 5 s. */
  readonly closeGraceMs?: number
  /** Versions of each config key kept for GET /v1/config/{key}/history; default 50. */
  readonly configHistory?: number
  /** Metric history for GET /v1/metrics/{service}/history and the console's charts. */
  readonly metricHistory?: MetricHistoryLimits
}

export interface MetricHistoryLimits {
  /** Width of one slot; default 10,000 ms. */
  readonly resolutionMs?: number
  /** How far back history reaches; default 3,600,000 ms (1 h). */
  readonly durationMs?: number
  /** Most series (per instance, name and labels) held; default 20,000. */
  readonly maxSeries?: number
  /** Most bytes all rings may take; default 128 MiB. */
  readonly maxBytes?: number
}

export interface ResolvedServerOptions {
  readonly port: number
  readonly host: string
  readonly dataDir: string | undefined
  readonly tokens: { readonly read: readonly string[]; readonly write: readonly string[] }
  readonly maxBodyBytes: number
  readonly logger: Logger
  readonly metricsRetentionMs: number
  readonly closeGraceMs: number
  readonly configHistory: number
  readonly limits: ServerLimits
  readonly metricHistory: Required<MetricHistoryLimits>
}

const KNOWN = new Set<string>(['port', 'host', 'dataDir', 'token', 'readToken', 'tokens', 'maxBodyBytes', 'logger', 'metricsRetentionMs', 'closeGraceMs', 'configHistory', 'metricHistory', ...LIMIT_NAMES])

const fail = (option: string, value: unknown, rule: string): never => {
  const shown = typeof value === 'string' ? JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value) : String(value)
  throw new InvalidArgumentError(`server option ${option} must be ${rule}, not ${shown}`, { details: { option } })
}

function integer(option: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    return fail(option, value, `an integer from ${min} to ${max}`)
  }
  return value
}

function nonEmpty(option: string, value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value.length === 0) return fail(option, value, 'a non-empty string')
  return value
}

/** A token must fit an Authorization header as one word: visible ASCII only. */
function token(option: string, value: unknown): string {
  if (typeof value !== 'string' || !/^[\x21-\x7e]{1,4096}$/.test(value)) {
    return fail(option, typeof value === 'string' ? '(hidden)' : value, 'a string of 1-4096 visible ASCII characters')
  }
  return value
}

function tokenList(option: string, value: unknown): string[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) return fail(option, value, 'an array of tokens')
  return value.map((t, i) => token(`${option}[${i}]`, t))
}

function logger(value: unknown): Logger {
  if (value === undefined) return silentLogger
  const ok = typeof value === 'object' && value !== null && ['debug', 'info', 'warn', 'error'].every((m) => typeof (value as Record<string, unknown>)[m] === 'function')
  return ok ? (value as Logger) : fail('logger', value, 'an object with debug, info, warn and error methods')
}

export function resolveServerOptions(options: GovernanceServerOptions = {}): ResolvedServerOptions {
  if (typeof options !== 'object' || options === null) fail('options', options, 'an object')
  // A misspelt option would otherwise be ignored in silence, and its default used instead.
  for (const name of Object.keys(options)) {
    if (!KNOWN.has(name)) throw new InvalidArgumentError(`server option ${name} is not an option (known: ${[...KNOWN].join(', ')})`, { details: { option: name } })
  }
  const tokens = options.tokens
  if (tokens !== undefined && (typeof tokens !== 'object' || tokens === null)) fail('tokens', tokens, 'an object { read?, write? }')
  const write = [...(options.token === undefined ? [] : [token('token', options.token)]), ...tokenList('tokens.write', tokens?.write)]
  const read = [...(options.readToken === undefined ? [] : [token('readToken', options.readToken)]), ...tokenList('tokens.read', tokens?.read)]
  if (read.length > 0 && write.length === 0) fail('token', undefined, 'set when read tokens are (otherwise nothing could write)')
  return {
    port: integer('port', options.port, 0, 65_535, 0),
    host: nonEmpty('host', options.host) ?? '127.0.0.1',
    dataDir: nonEmpty('dataDir', options.dataDir),
    tokens: { read, write },
    maxBodyBytes: integer('maxBodyBytes', options.maxBodyBytes, 1_024, 1_073_741_824, 1_048_576),
    logger: logger(options.logger),
    metricsRetentionMs: integer('metricsRetentionMs', options.metricsRetentionMs, 1_000, 2_147_483_647, 3_600_000),
    closeGraceMs: integer('closeGraceMs', options.closeGraceMs, 0, 600_000, 5_000),
    configHistory: integer('configHistory', options.configHistory, 1, 1_000, 50),
    limits: resolveLimits(options, (name, value, min, max) => integer(name, value, min, max, min)),
    metricHistory: historyLimits(options.metricHistory),
  }
}

function historyLimits(value: MetricHistoryLimits | undefined): Required<MetricHistoryLimits> {
  if (value !== undefined && (typeof value !== 'object' || value === null)) fail('metricHistory', value, 'an object')
  const resolutionMs = integer('metricHistory.resolutionMs', value?.resolutionMs, 100, 86_400_000, 10_000)
  const durationMs = integer('metricHistory.durationMs', value?.durationMs, resolutionMs, 604_800_000, 3_600_000)
  // Slots per ring are duration / resolution: cap them so one series cannot take megabytes.
  if (durationMs / resolutionMs > 100_000) fail('metricHistory.durationMs', durationMs, `at most 100,000 times resolutionMs (${resolutionMs})`)
  return {
    resolutionMs,
    durationMs,
    maxSeries: integer('metricHistory.maxSeries', value?.maxSeries, 0, 10_000_000, 20_000),
    maxBytes: integer('metricHistory.maxBytes', value?.maxBytes, 0, 2 ** 40, 128 * 1024 * 1024),
  }
}
