/** The reference server's options, checked eagerly with messages naming the option. */
import { silentLogger, type Logger } from '../internal/logger.js'
import { count, durationMs, failOption, failSecret, list, objectOption, string } from '../internal/options-kit.js'
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

const KNOWN = ['port', 'host', 'dataDir', 'token', 'readToken', 'tokens', 'maxBodyBytes', 'logger', 'metricsRetentionMs', 'closeGraceMs', 'configHistory', 'metricHistory', ...LIMIT_NAMES]

/** Server options are named `server.<option>`; bounds are inclusive, `…Ms` ones are durations. */
function integer(option: string, value: unknown, min: number, max: number, fallback: number): number {
  const read = option.endsWith('Ms') ? durationMs : count
  return read(`server.${option}`, value, { min, max, default: fallback })
}

/** A token must fit an Authorization header as one word: visible ASCII only. */
function token(path: string, value: unknown): string {
  if (typeof value !== 'string' || !/^[\x21-\x7e]{1,4096}$/.test(value)) failSecret(path, 'must be a string of 1-4096 visible ASCII characters', value)
  return value
}

function tokenList(path: string, value: unknown): string[] {
  if (value === undefined) return []
  if (Array.isArray(value) && value.length === 0) return []
  return list(path, value, token)
}

function logger(value: unknown): Logger {
  if (value === undefined) return silentLogger
  const ok = typeof value === 'object' && value !== null && ['debug', 'info', 'warn', 'error'].every((m) => typeof (value as Record<string, unknown>)[m] === 'function')
  return ok ? (value as Logger) : failOption('server.logger', 'must be an object with debug, info, warn and error methods', value)
}

export function resolveServerOptions(options: GovernanceServerOptions = {}): ResolvedServerOptions {
  const o = objectOption('server', options, KNOWN, { required: true })
  const tokens = objectOption('server.tokens', o.tokens, ['read', 'write'])
  const write = [...(o.token === undefined ? [] : [token('server.token', o.token)]), ...tokenList('server.tokens.write', tokens.write)]
  const read = [...(o.readToken === undefined ? [] : [token('server.readToken', o.readToken)]), ...tokenList('server.tokens.read', tokens.read)]
  if (read.length > 0 && write.length === 0) failOption('server.token', 'must be set when read tokens are (otherwise nothing could write)', undefined)
  return {
    port: integer('port', o.port, 0, 65_535, 0),
    host: string('server.host', o.host, { default: '127.0.0.1' }),
    dataDir: string('server.dataDir', o.dataDir),
    tokens: { read, write },
    maxBodyBytes: integer('maxBodyBytes', o.maxBodyBytes, 1_024, 1_073_741_824, 1_048_576),
    logger: logger(o.logger),
    metricsRetentionMs: integer('metricsRetentionMs', o.metricsRetentionMs, 1_000, 2_147_483_647, 3_600_000),
    closeGraceMs: integer('closeGraceMs', o.closeGraceMs, 0, 600_000, 5_000),
    configHistory: integer('configHistory', o.configHistory, 1, 1_000, 50),
    limits: resolveLimits(options, (name, value, min, max) => integer(name, value, min, max, min)),
    metricHistory: historyLimits(o.metricHistory),
  }
}

function historyLimits(value: unknown): Required<MetricHistoryLimits> {
  const v = objectOption('server.metricHistory', value, ['resolutionMs', 'durationMs', 'maxSeries', 'maxBytes'])
  const resolutionMs = integer('metricHistory.resolutionMs', v.resolutionMs, 100, 86_400_000, 10_000)
  const durationMs = integer('metricHistory.durationMs', v.durationMs, resolutionMs, 604_800_000, 3_600_000)
  // Slots per ring are duration / resolution: cap them so one series cannot take megabytes.
  if (durationMs / resolutionMs > 100_000) failOption('server.metricHistory.durationMs', `must be at most 100,000 times resolutionMs (${resolutionMs})`, durationMs)
  return {
    resolutionMs,
    durationMs,
    maxSeries: integer('metricHistory.maxSeries', v.maxSeries, 0, 10_000_000, 20_000),
    maxBytes: integer('metricHistory.maxBytes', v.maxBytes, 0, 2 ** 40, 128 * 1024 * 1024),
  }
}
