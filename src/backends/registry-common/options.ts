/**
 * Options every registry backend (Consul, Nacos, Eureka) shares, validated at creation so a
 * typo fails with a message that names the option, not later inside a watch loop.
 */
import type { BackoffOptions } from '../../internal/backoff.js'
import { createConsoleLogger, resolveLoggerOption, type Logger } from '../../internal/logger.js'
import { delayRange, durationMs, failOption, list, objectOption } from '../../internal/options-kit.js'
import { SwappableLogger } from '../../internal/swappable-logger.js'
import { parseServer, resolveTls } from '../../transport/options.js'
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

/** The options every registry backend takes; each adds its own to `known`. */
export const BASE_KEYS: readonly string[] = ['url', 'urls', 'tls', 'requestTimeoutMs', 'watchBackoff', 'logger']

/**
 * Checks the options object (unknown keys refused: `<backend>.<key>`) and the shared
 * options; returns the object for the backend's own reads.
 */
export function resolveBaseOptions(backend: string, options: RegistryBaseOptions, known: readonly string[]): { base: ResolvedBaseOptions; raw: Record<string, unknown> } {
  const raw = objectOption(backend, options, [...BASE_KEYS, ...known], { required: true })
  if ((raw.url === undefined) === (raw.urls === undefined)) failOption(`${backend}.url`, `must be given, or ${backend}.urls: exactly one of the two`, raw.url ?? raw.urls)
  const servers = raw.urls === undefined ? [parseServer(`${backend}.url`, raw.url).base] : list(`${backend}.urls`, raw.urls, (path, u) => parseServer(path, u).base)
  const base: ResolvedBaseOptions = {
    servers,
    tls: resolveTls(`${backend}.tls`, raw.tls as TlsOptions | undefined),
    requestTimeoutMs: durationMs(`${backend}.requestTimeoutMs`, raw.requestTimeoutMs, { default: 5_000 }),
    watchBackoff: delayRange(`${backend}.watchBackoff`, raw.watchBackoff, { minDelayMs: 100, maxDelayMs: 5_000 }),
    logger: baseLogger(backend, raw.logger),
  }
  return { base, raw }
}

/** The user's logger (kept even when the client has its own), or a stderr default the client's replaces. */
function baseLogger(backend: string, option: unknown): SwappableLogger {
  const chosen = resolveLoggerOption(option, `${backend}.logger`)
  return new SwappableLogger(chosen ?? createConsoleLogger(`[governance-client ${backend}]`), chosen === undefined)
}
