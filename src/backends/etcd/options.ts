/** etcdBackend's options, validated when the backend is created (messages name the option). */
import { InvalidArgumentError } from '../../errors.js'
import type { BackoffOptions } from '../../internal/backoff.js'
import { createConsoleLogger, replaceableLogger, resolveLoggerOption, type Logger } from '../../internal/logger.js'
import type { TlsOptions, Transport } from '../../transport/types.js'
import type { EtcdCredentials } from './auth.js'
import { describe } from './codec.js'
import { createKeyLayout, type KeyLayout } from './keys.js'
import { checkKnownKeys, resolveBreaker } from '../../transport/options.js'

export interface EtcdBackendOptions {
  /**
   * Client URLs of the cluster's members (`http://10.0.0.1:2379`). Any member can serve;
   * on failure the next one is used.
   * @example ['http://10.0.0.1:2379', 'http://10.0.0.2:2379', 'http://10.0.0.3:2379']
   */
  readonly endpoints: readonly string[]
  /**
   * Root of every key the backend reads or writes. Default `/governance`.
   * @example '/prod/governance'
   */
  readonly prefix?: string
  /**
   * etcd user and password (etcd's `auth enable`); the token is fetched and refreshed as needed.
   * @example { username: 'orders', password: process.env.ETCD_PASSWORD! }
   */
  readonly auth?: EtcdCredentials
  /** CA, client certificate and key for `https://` endpoints. */
  readonly tls?: TlsOptions
  /** Deadline of each call (not of a watch, which lives until unsubscribed). Default 5,000 ms. */
  readonly requestTimeoutMs?: number
  /**
   * Keep-alive connections per member for single calls. Default 16. The gateway speaks
   * HTTP/1.1, one call per connection at a time: raise it for many concurrent calls.
   * (Each watch has a connection of its own on top.)
   */
  readonly connections?: number
  /** Reconnect delays of watches. Default 100 ms to 5,000 ms. */
  readonly watchBackoff?: BackoffOptions
  /**
   * Most watches one backend holds. Default 10,000. Past it a watch is not started: its
   * watcher gets a RequestRejectedError and the logger a warning.
   */
  readonly maxWatches?: number
  /** Watches multiplexed on one gateway stream (one connection). Default 1,000. */
  readonly watchesPerStream?: number
  /**
   * A watch stream silent this long gets a probe (a read on its member). Default 2,000 ms.
   * A probe answered confirms every watch on the stream (fresh data); no answer within
   * `watchProbeTimeoutMs` (default 2,000 ms) drops the stream, which resumes on the next member.
   */
  readonly watchIdleMs?: number
  readonly watchProbeTimeoutMs?: number
  /** Circuit breaker of each member for single calls. Default 1,000 ms doubling to 30,000 ms. */
  readonly breaker?: { readonly cooldownMs?: number; readonly maxCooldownMs?: number }
  /** Default: the client's logger (via useLogger), else warnings to stderr; `false` silences the backend. */
  readonly logger?: Logger | false
  /** A transport to use instead of creating one (tests); the backend does not close it. */
  readonly transport?: Transport
}

export interface ResolvedEtcdOptions {
  readonly endpoints: readonly string[]
  readonly layout: KeyLayout
  readonly auth: EtcdCredentials | undefined
  readonly tls: TlsOptions | undefined
  readonly requestTimeoutMs: number
  readonly connections: number
  readonly watchBackoff: BackoffOptions
  readonly maxWatches: number
  readonly watchesPerStream: number
  readonly watchIdleMs: number
  readonly watchProbeTimeoutMs: number
  readonly breaker: EtcdBackendOptions['breaker']
  readonly logger: Logger
  readonly transport: Transport | undefined
}

const DEFAULT_BACKOFF: BackoffOptions = { minDelayMs: 100, maxDelayMs: 5_000 }

function fail(message: string): never {
  throw new InvalidArgumentError(message)
}

function checkEndpoint(value: unknown, i: number): string {
  const name = `endpoints[${i}]`
  if (typeof value !== 'string') fail(`${name} must be a URL string, got ${describe(value)}`)
  let url: URL
  try {
    url = new URL(value)
  } catch {
    fail(`${name} is not a valid URL: ${describe(value)}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(`${name} must be an http:// or https:// URL, got ${describe(value)}`)
  if (url.username !== '' || url.password !== '') fail(`${name} must not carry credentials (use the auth option)`)
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') fail(`${name} must be a bare origin like http://host:2379, got ${describe(value)}`)
  return url.origin
}

function checkAuth(value: unknown): EtcdCredentials | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'object' || value === null) fail(`auth must be { username, password }, got ${describe(value)}`)
  const { username, password } = value as Record<string, unknown>
  if (typeof username !== 'string' || username === '') fail(`auth.username must be a non-empty string, got ${describe(username)}`)
  // Never echo a password.
  if (typeof password !== 'string') fail(`auth.password must be a string, got ${typeof password}`)
  return { username, password }
}

function checkBackoff(value: BackoffOptions | undefined): BackoffOptions {
  if (value === undefined) return DEFAULT_BACKOFF
  const { minDelayMs, maxDelayMs } = value
  if (!Number.isFinite(minDelayMs) || minDelayMs < 1) fail(`watchBackoff.minDelayMs must be a number >= 1, got ${describe(minDelayMs)}`)
  if (!Number.isFinite(maxDelayMs) || maxDelayMs < minDelayMs) {
    fail(`watchBackoff.maxDelayMs must be a number >= minDelayMs, got ${describe(maxDelayMs)}`)
  }
  return { minDelayMs, maxDelayMs }
}

const KNOWN_KEYS = [
  'endpoints',
  'prefix',
  'auth',
  'tls',
  'requestTimeoutMs',
  'connections',
  'watchBackoff',
  'maxWatches',
  'watchesPerStream',
  'watchIdleMs',
  'watchProbeTimeoutMs',
  'breaker',
  'logger',
  'transport',
]

function integerOption(options: EtcdBackendOptions, name: 'maxWatches' | 'watchesPerStream' | 'watchIdleMs' | 'watchProbeTimeoutMs', fallback: number): number {
  const value = options[name] ?? fallback
  if (!Number.isSafeInteger(value) || value < 1) fail(`${name} must be an integer >= 1, got ${describe(value)}`)
  return value
}

export function resolveEtcdOptions(options: EtcdBackendOptions): ResolvedEtcdOptions {
  if (typeof options !== 'object' || options === null) fail(`etcdBackend options must be an object, got ${describe(options)}`)
  checkKnownKeys('etcdBackend: ', options, KNOWN_KEYS)
  const list: unknown = options.endpoints
  if (!Array.isArray(list) || list.length === 0) fail(`endpoints must be a non-empty array of URLs, got ${describe(list)}`)
  const timeout = options.requestTimeoutMs ?? 5_000
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0) {
    fail(`requestTimeoutMs must be a positive number, got ${describe(timeout)}`)
  }
  const connections = options.connections ?? 16
  if (!Number.isSafeInteger(connections) || connections < 1) fail(`connections must be an integer >= 1, got ${describe(connections)}`)
  if (options.transport !== undefined && typeof options.transport?.request !== 'function') {
    fail('transport must be a Transport (request, stream, close)')
  }
  return {
    endpoints: [...new Set(list.map(checkEndpoint))],
    layout: createKeyLayout(options.prefix ?? '/governance'),
    auth: checkAuth(options.auth),
    tls: options.tls,
    requestTimeoutMs: timeout,
    connections,
    watchBackoff: checkBackoff(options.watchBackoff),
    maxWatches: integerOption(options, 'maxWatches', 10_000),
    watchesPerStream: integerOption(options, 'watchesPerStream', 1_000),
    watchIdleMs: integerOption(options, 'watchIdleMs', 2_000),
    watchProbeTimeoutMs: integerOption(options, 'watchProbeTimeoutMs', Math.min(2_000, Math.ceil(timeout))),
    // Validated (with unknown keys refused) like the transport's own option.
    breaker: options.breaker === undefined ? undefined : resolveBreaker('breaker', options.breaker),
    logger: resolveLoggerOption(options.logger) ?? replaceableLogger(createConsoleLogger('[governance-client etcd]')),
    transport: options.transport,
  }
}
