/**
 * Options every registry backend (Consul, Nacos, Eureka) shares, validated at creation so a
 * typo fails with a message that names the option, not later inside a watch loop.
 */
import { InvalidArgumentError } from '../../errors.js'
import type { BackoffOptions } from '../../internal/backoff.js'
import { describeValue } from '../../internal/describe.js'
import { createConsoleLogger, resolveLoggerOption, type Logger } from '../../internal/logger.js'
import { SwappableLogger } from '../../internal/swappable-logger.js'
import { parseServer } from '../../transport/options.js'
import type { TlsOptions } from '../../transport/types.js'

export interface RegistryBaseOptions {
  /** One server's base URL. Give `url` or `urls`. */
  readonly url?: string
  /** Several servers, tried in order; the first that answers is kept until it fails. */
  readonly urls?: readonly string[]
  /** CA, client certificate and key for `https://` servers (certificates are always verified). */
  readonly tls?: TlsOptions
  /** Deadline of each single call (not of a held watch request). Default 5,000 ms. */
  readonly requestTimeoutMs?: number
  /** Reconnect delays of watches after a failure. Default 100 ms to 5,000 ms. */
  readonly watchBackoff?: BackoffOptions
  /** Default: the client's logger (via useLogger), else warnings to stderr; `false` silences the backend. */
  readonly logger?: Logger | false
}

export interface ResolvedBaseOptions {
  readonly servers: readonly string[]
  readonly tls: TlsOptions | undefined
  readonly requestTimeoutMs: number
  readonly watchBackoff: BackoffOptions
  readonly logger: SwappableLogger
}

export function fail(message: string): never {
  throw new InvalidArgumentError(message)
}

export const show = describeValue

export function checkNumber(name: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) fail(`${name} must be a number from ${min} to ${max}, got ${show(value)}`)
  return value
}

/** A count (connections, …): a whole number, so the transport never names an option the user did not give. */
export function checkInteger(name: string, value: unknown, fallback: number, min: number): number {
  const n = checkNumber(name, value, fallback, min)
  if (!Number.isSafeInteger(n)) fail(`${name} must be a whole number from ${min}, got ${show(value)}`)
  return n
}

export function checkOptionalString(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined
  // eslint-disable-next-line no-control-regex
  if (typeof value !== 'string' || value === '' || /[\u0000-\u001f\u007f]/.test(value)) fail(`${name} must be a non-empty string without control characters, got ${show(value)}`)
  return value
}

function checkBackoff(value: unknown): BackoffOptions {
  if (value === undefined) return { minDelayMs: 100, maxDelayMs: 5_000 }
  if (typeof value !== 'object' || value === null) fail(`watchBackoff must be { minDelayMs, maxDelayMs }, got ${show(value)}`)
  const v = value as Record<string, unknown>
  const minDelayMs = checkNumber('watchBackoff.minDelayMs', v.minDelayMs, 100, 1)
  const maxDelayMs = checkNumber('watchBackoff.maxDelayMs', v.maxDelayMs, Math.max(5_000, minDelayMs), minDelayMs)
  return { minDelayMs, maxDelayMs }
}

export function resolveBaseOptions(backend: string, options: RegistryBaseOptions): ResolvedBaseOptions {
  if (typeof options !== 'object' || options === null) fail(`${backend}Backend options must be an object, got ${show(options)}`)
  if ((options.url === undefined) === (options.urls === undefined)) fail(`${backend}Backend needs exactly one of url and urls`)
  const list = options.urls ?? [options.url]
  if (!Array.isArray(list) || list.length === 0) fail(`urls must be a non-empty array of URLs, got ${show(options.urls)}`)
  const servers = list.map((u: unknown, i) => parseServer(options.urls === undefined ? 'url' : `urls[${i}]`, u).base)
  return {
    servers,
    tls: options.tls,
    requestTimeoutMs: checkNumber('requestTimeoutMs', options.requestTimeoutMs, 5_000, 1),
    watchBackoff: checkBackoff(options.watchBackoff),
    logger: baseLogger(backend, options.logger),
  }
}

/** The user's logger (kept even when the client has its own), or a stderr default the client's replaces. */
function baseLogger(backend: string, option: unknown): SwappableLogger {
  const chosen = resolveLoggerOption(option)
  return new SwappableLogger(chosen ?? createConsoleLogger(`[governance-client ${backend}]`), chosen === undefined)
}
