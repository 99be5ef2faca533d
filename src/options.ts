/**
 * GovernanceClient options: the top-level bag, its defaults, and eager validation that
 * names the bad option. Each subsystem validates its own section; this file only
 * checks what the facade itself uses and builds the backend.
 */
import type { Backend } from './backend.js'
import { InvalidArgumentError } from './errors.js'
import { httpBackend } from './backends/http/index.js'
import type { ConfigOptions } from './config/index.js'
import type { DiscoveryOptions } from './discovery/index.js'
import { limitLogger } from './internal/log-limiter.js'
import { createConsoleLogger, resolveLoggerOption, type Logger } from './internal/logger.js'
import type { MetricsOptions } from './metrics/index.js'
import { REGISTRY_OPTION_KEYS, type RegistryOptionsInput } from './registry/index.js'
import type { TlsOptions } from './transport/types.js'
import { durationMs, failOption, objectOption, string } from './internal/options-kit.js'

export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000

/**
 * The client's options: exactly one of `server` and `backend` (the types refuse neither and
 * both, as the constructor does at run time), and everything else.
 */
export type GovernanceClientOptions = GovernanceServerClientOptions | GovernanceBackendClientOptions

/** A client of a protocol v1 server: `new GovernanceClient({ server: 'http://gov:7070', … })`. */
export interface GovernanceServerClientOptions extends GovernanceClientCommonOptions {
  /** Base URL of a protocol v1 server, or several for failover. Exactly one of `server` and `backend`. */
  server: string | readonly string[]
  backend?: undefined
}

/** A client over any Backend: `new GovernanceClient({ backend: etcdBackend({ … }), … })`. */
export interface GovernanceBackendClientOptions extends GovernanceClientCommonOptions {
  /** Any Backend (etcdBackend(), seedBackend(), your own). The client closes it on close(). */
  backend: Backend
  server?: undefined
}

/** Every option but `server` and `backend`. */
export interface GovernanceClientCommonOptions extends RegistryOptionsInput {
  /** Bearer token for `server`. */
  token?: string
  /** TLS for `server`: extra CA, client certificate. Certificates are always verified. */
  tls?: TlsOptions
  /** Deadline of one call to the server, retries included. Default 5,000 ms. Blocking watches use their own. */
  requestTimeoutMs?: number
  /** Where the client writes warnings and errors; default: stderr. `false` silences it. */
  logger?: Logger | false
  /** Directory for discovery and config snapshots and spilled metric batches (cold start without the server). */
  dataDir?: string
  discovery?: DiscoveryOptions
  /** `false` turns metrics off (instruments still work, nothing is exported). */
  metrics?: MetricsOptions | false
  config?: ConfigOptions
}

export interface ResolvedClientOptions {
  readonly backend: Backend
  readonly logger: Logger
  readonly requestTimeoutMs: number
  readonly dataDir: string | undefined
}

/** Every top-level option; anything else is a typo that would otherwise be ignored in silence. */
const CLIENT_OPTION_KEYS: readonly string[] = Object.freeze([
  'server',
  'backend',
  'token',
  'tls',
  'requestTimeoutMs',
  'logger',
  'dataDir',
  'discovery',
  'metrics',
  'config',
  ...REGISTRY_OPTION_KEYS,
])

export function resolveClientOptions(options: GovernanceClientOptions): ResolvedClientOptions {
  // The client's own options have bare paths (`requestTimeoutMs`); subsystems prefix theirs.
  if (typeof options !== 'object' || options === null || Array.isArray(options)) failOption('GovernanceClient options', 'must be an object', options)
  objectOption('', options, CLIENT_OPTION_KEYS)
  const requestTimeoutMs = durationMs('requestTimeoutMs', options.requestTimeoutMs, { default: DEFAULT_REQUEST_TIMEOUT_MS })
  const logger = limitLogger(resolveLogger(options.logger))
  const dataDir = string('dataDir', options.dataDir, { rule: 'must be a non-empty path' })
  return { backend: resolveBackend(options, requestTimeoutMs, logger), logger, requestTimeoutMs, dataDir }
}

function resolveBackend(options: GovernanceClientOptions, requestTimeoutMs: number, logger: Logger): Backend {
  if (options.server !== undefined && options.backend !== undefined) {
    throw new InvalidArgumentError('give either `server` or `backend`, not both')
  }
  if (options.backend !== undefined) {
    if (!isBackend(options.backend)) {
      throw new InvalidArgumentError('backend must implement the Backend interface (name, capabilities, register, renew, deregister, resolve, getConfig, close)')
    }
    // Before any other call: a backend built outside must log where the client logs (or not at all).
    options.backend.useLogger?.(logger)
    return options.backend
  }
  if (options.server === undefined) {
    throw new InvalidArgumentError('GovernanceClient needs `server` (a protocol v1 URL) or `backend`')
  }
  return httpBackend({
    server: options.server,
    requestTimeoutMs,
    logger,
    ...(options.token !== undefined && { token: options.token }),
    ...(options.tls !== undefined && { tls: options.tls }),
  })
}

function isBackend(value: unknown): value is Backend {
  if (typeof value !== 'object' || value === null) return false
  const b = value as Record<string, unknown>
  // `capabilities` is read at construction: without it the client would crash on a TypeError.
  if (typeof b.capabilities !== 'object' || b.capabilities === null) return false
  // `name` goes into every message and event about the backend.
  if (typeof b.name !== 'string' || b.name === '') return false
  return ['register', 'renew', 'deregister', 'resolve', 'getConfig', 'close'].every((m) => typeof b[m] === 'function')
}

/** The user's logger (or the default); the client then writes to it through limitLogger(). */
function resolveLogger(logger: Logger | false | undefined): Logger {
  return resolveLoggerOption(logger) ?? createConsoleLogger()
}
