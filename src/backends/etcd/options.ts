/** etcdBackend's options, validated when the backend is created (messages name the option). */
import type { BackoffOptions } from '../../internal/backoff.js'
import { createConsoleLogger, replaceableLogger, resolveLoggerOption, type Logger } from '../../internal/logger.js'
import { delayRange, durationMs, failOption, failSecret, httpUrl, list, objectOption, positiveInt, string } from '../../internal/options-kit.js'
import type { TlsOptions, Transport } from '../../transport/types.js'
import type { EtcdCredentials } from './auth.js'
import { createKeyLayout, type KeyLayout } from './keys.js'
import { resolveBreaker, resolveTls } from '../../transport/options.js'

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
const PREFIX = /^(?!.*\/\/)\/\S*$/

function checkEndpoint(path: string, value: unknown): string {
  const url = httpUrl(path, value)
  if (url.pathname !== '/') failOption(path, 'must be a bare origin like http://host:2379', value)
  return url.origin
}

function checkAuth(value: unknown): EtcdCredentials | undefined {
  if (value === undefined) return undefined
  const v = objectOption('etcd.auth', value, ['username', 'password'], { required: true })
  const username = string('etcd.auth.username', v.username, { rule: 'must be a non-empty string' })
  if (username === undefined) failOption('etcd.auth.username', 'must be a non-empty string', username)
  // Never echo a password.
  if (typeof v.password !== 'string') failSecret('etcd.auth.password', 'must be a string', v.password)
  return { username, password: v.password }
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

export function resolveEtcdOptions(options: EtcdBackendOptions): ResolvedEtcdOptions {
  const o = objectOption('etcd', options, KNOWN_KEYS, { required: true })
  const endpoints = list('etcd.endpoints', o.endpoints, checkEndpoint)
  const requestTimeoutMs = durationMs('etcd.requestTimeoutMs', o.requestTimeoutMs, { default: 5_000 })
  if (options.transport !== undefined && typeof options.transport?.request !== 'function') {
    failOption('etcd.transport', 'must be a Transport (request, stream, close)', options.transport)
  }
  return {
    endpoints: [...new Set(endpoints)],
    layout: createKeyLayout(string('etcd.prefix', o.prefix, { default: '/governance', pattern: PREFIX, rule: 'must be a key path starting with "/" without spaces or "//"' })),
    auth: checkAuth(o.auth),
    tls: resolveTls('etcd.tls', options.tls),
    requestTimeoutMs,
    connections: positiveInt('etcd.connections', o.connections, { default: 16 }),
    watchBackoff: delayRange('etcd.watchBackoff', o.watchBackoff, DEFAULT_BACKOFF),
    maxWatches: positiveInt('etcd.maxWatches', o.maxWatches, { default: 10_000 }),
    watchesPerStream: positiveInt('etcd.watchesPerStream', o.watchesPerStream, { default: 1_000 }),
    watchIdleMs: durationMs('etcd.watchIdleMs', o.watchIdleMs, { default: 2_000 }),
    watchProbeTimeoutMs: durationMs('etcd.watchProbeTimeoutMs', o.watchProbeTimeoutMs, { default: Math.min(2_000, requestTimeoutMs) }),
    // Validated (with unknown keys refused) like the transport's own option.
    breaker: options.breaker === undefined ? undefined : resolveBreaker('etcd.breaker', options.breaker),
    logger: resolveLoggerOption(o.logger, 'etcd.logger') ?? replaceableLogger(createConsoleLogger('[governance-client etcd]')),
    transport: options.transport,
  }
}
