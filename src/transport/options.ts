/**
 * Eager validation of transport options: a wrong option fails at creation with a message
 * that names it and its value, not later inside a background loop.
 */
import { silentLogger, type Logger } from '../internal/logger.js'
import { LIBRARY_USER_AGENT } from '../internal/version.js'
import type { HttpMethod, RetryPolicy, TlsOptions, TransportOptions } from './types.js'
import { count, delayRange, durationMs, failOption, failSecret, func, httpUrl, list, objectOption, optionPath, positiveInt, positiveNumber } from '../internal/options-kit.js'
import type { BreakerPolicy } from './server-health.js'

export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000
export const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024
export const DEFAULT_CONNECTIONS = 16
export const DEFAULT_RETRY: RetryPolicy = { retries: 2, minDelayMs: 100, maxDelayMs: 2_000 }
/** Held requests (watches, blocking queries) per origin, on a pool apart from unary calls. */
export const DEFAULT_HELD_CONNECTIONS = 1_024
export const DEFAULT_BREAKER: BreakerPolicy = { cooldownMs: 1_000, maxCooldownMs: 30_000 }

/** One base URL, split so that request paths can be appended to its prefix. */
export interface ServerTarget {
  /** The base URL as given, without a trailing slash: used in messages and answers. */
  readonly base: string
  /** scheme://host:port — the key of its connection pool. */
  readonly origin: string
  /** '' or a path prefix without a trailing slash, e.g. '/gov'. */
  readonly prefix: string
  readonly https: boolean
}

export interface ResolvedTransportOptions {
  readonly servers: readonly ServerTarget[]
  readonly requestTimeoutMs: number
  readonly maxResponseBytes: number
  readonly retry: RetryPolicy
  readonly connections: number
  readonly heldConnections: number
  /** Cap of one attempt on one server; undefined: the call's deadline shared among the servers left. */
  readonly attemptTimeoutMs: number | undefined
  readonly breaker: BreakerPolicy
  /** Headers sent with every call (accept, token); per-call headers are merged over them. */
  readonly headers: Readonly<Record<string, string>>
  readonly authorization: (() => string | undefined) | undefined
  readonly tls: TlsOptions | undefined
  readonly logger: Logger
}

const METHODS: ReadonlySet<string> = new Set<HttpMethod>(['GET', 'POST', 'PUT', 'DELETE'])

/** Header values with CR or LF would split the request; undici would throw its own error later. */
export function checkHeaderValue(name: string, value: unknown): string {
  if (typeof value !== 'string' || /[\r\n\0]/.test(value)) failOption(name, 'must be a string without CR, LF or NUL', value)
  return value
}

export function parseServer(name: string, value: unknown): ServerTarget {
  const url = httpUrl(name, value)
  const prefix = url.pathname.replace(/\/+$/, '')
  return { base: url.origin + prefix, origin: url.origin, prefix, https: url.protocol === 'https:' }
}

/** A retry policy over `base`: per transport (`<root>.retry`) or per call (`retry`). */
export function resolveRetryPolicy(path: string, value: Partial<RetryPolicy> | undefined, base: RetryPolicy): RetryPolicy {
  if (value === undefined) return base
  // Delays of 0 are allowed: callers that want immediate retries ask for them.
  const delays = delayRange(path, value, base, { min: 0, extraKeys: ['retries'] })
  return { retries: count(optionPath(path, 'retries'), value.retries, { default: base.retries }), ...delays }
}

function isPem(value: unknown): value is string | Buffer {
  return (typeof value === 'string' && value.length > 0) || Buffer.isBuffer(value)
}

const TLS_KEYS = ['ca', 'cert', 'key', 'servername']

/** `<root>.tls`: PEM strings or Buffers; cert and key together. Keys are never echoed. */
export function resolveTls(path: string, value: TlsOptions | undefined): TlsOptions | undefined {
  if (value === undefined) return undefined
  const v = objectOption(path, value, TLS_KEYS)
  const cas = v.ca === undefined ? [] : Array.isArray(v.ca) ? v.ca : [v.ca]
  cas.forEach((ca: unknown, i: number) => {
    if (!isPem(ca)) failOption(`${path}.ca${Array.isArray(v.ca) ? `[${i}]` : ''}`, 'must be a PEM string or Buffer', ca)
  })
  if (v.cert !== undefined && !isPem(v.cert)) failOption(`${path}.cert`, 'must be a PEM string or Buffer', v.cert)
  if (v.key !== undefined && !isPem(v.key)) failSecret(`${path}.key`, 'must be a PEM string or Buffer', v.key)
  if ((v.cert === undefined) !== (v.key === undefined)) failOption(`${path}.cert`, `and ${path}.key must be given together (mutual TLS)`, v.cert === undefined ? undefined : '(a certificate)')
  if (v.servername !== undefined && (typeof v.servername !== 'string' || v.servername.length === 0)) failOption(`${path}.servername`, 'must be a non-empty string', v.servername)
  return value
}

/** A bearer token: one word of visible characters; the message never shows it. */
export function checkToken(path: string, token: unknown): string | undefined {
  if (token === undefined) return undefined
  if (typeof token !== 'string' || token.length === 0) failSecret(path, 'must be a non-empty string', token)
  if (/[\r\n\0\s]/.test(token)) failSecret(path, 'must not contain whitespace or control characters', token)
  return token
}

function resolveHeaders(root: string, value: unknown, token: unknown): Record<string, string> {
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': LIBRARY_USER_AGENT }
  if (value !== undefined) {
    if (typeof value !== 'object' || value === null) failOption(optionPath(root, 'headers'), 'must be an object of strings', value)
    for (const [k, v] of Object.entries(value)) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k)) failOption(optionPath(root, 'headers'), 'must have valid header names', k)
      headers[k.toLowerCase()] = checkHeaderValue(`${optionPath(root, 'headers')}[${JSON.stringify(k)}]`, v)
    }
  }
  const checked = checkToken(optionPath(root, 'token'), token)
  if (checked !== undefined) headers.authorization = `Bearer ${checked}`
  return headers
}

const TRANSPORT_KEYS = [
  'servers',
  'token',
  'authorization',
  'tls',
  'requestTimeoutMs',
  'attemptTimeoutMs',
  'maxResponseBytes',
  'retry',
  'connections',
  'heldConnections',
  'breaker',
  'headers',
  'logger',
]

export function resolveBreaker(path: string, value: unknown): BreakerPolicy {
  if (value === undefined) return DEFAULT_BREAKER
  const v = objectOption(path, value, ['cooldownMs', 'maxCooldownMs'])
  const cooldownMs = durationMs(optionPath(path, 'cooldownMs'), v.cooldownMs, { default: DEFAULT_BREAKER.cooldownMs })
  const maxCooldownMs = durationMs(optionPath(path, 'maxCooldownMs'), v.maxCooldownMs, { default: Math.max(cooldownMs, DEFAULT_BREAKER.maxCooldownMs) })
  if (cooldownMs > maxCooldownMs) failOption(optionPath(path, 'cooldownMs'), `must not exceed ${optionPath(path, 'maxCooldownMs')} (${maxCooldownMs})`, cooldownMs)
  return { cooldownMs, maxCooldownMs }
}

/**
 * `root` prefixes every option path: `transport` for createTransport(), the backend's name
 * when a backend passes on options its user gave it (`http.maxResponseBytes`).
 */
export function resolveTransportOptions(options: TransportOptions, root = 'transport'): ResolvedTransportOptions {
  const o = objectOption(root, options, TRANSPORT_KEYS, { required: true })
  const at = (key: string): string => optionPath(root, key)
  const servers = list(at('servers'), o.servers, parseServer)
  const authorization = func<() => string | undefined>(at('authorization'), o.authorization)
  if (authorization !== undefined && o.token !== undefined) failOption(at('token'), `and ${at('authorization')} are exclusive: give one`, '(a token)')
  return {
    servers,
    requestTimeoutMs: durationMs(at('requestTimeoutMs'), o.requestTimeoutMs, { default: DEFAULT_REQUEST_TIMEOUT_MS }),
    maxResponseBytes: positiveInt(at('maxResponseBytes'), o.maxResponseBytes, { default: DEFAULT_MAX_RESPONSE_BYTES }),
    retry: resolveRetryPolicy(at('retry'), o.retry as Partial<RetryPolicy> | undefined, DEFAULT_RETRY),
    connections: positiveInt(at('connections'), o.connections, { default: DEFAULT_CONNECTIONS }),
    heldConnections: positiveInt(at('heldConnections'), o.heldConnections, { default: DEFAULT_HELD_CONNECTIONS }),
    attemptTimeoutMs: durationMs(at('attemptTimeoutMs'), o.attemptTimeoutMs, {}),
    breaker: resolveBreaker(at('breaker'), o.breaker),
    headers: resolveHeaders(root, o.headers, o.token),
    authorization,
    tls: resolveTls(at('tls'), o.tls as TlsOptions | undefined),
    logger: (o.logger as Logger | undefined) ?? silentLogger,
  }
}

/** Per-call checks: cheap, since they run on every request. */
export function checkRequestShape(options: { method: unknown; path: unknown; timeoutMs?: unknown }): void {
  if (typeof options !== 'object' || options === null) failOption('request options', 'must be an object', options)
  if (typeof options.method !== 'string' || !METHODS.has(options.method)) failOption('method', 'must be GET, POST, PUT or DELETE', options.method)
  if (typeof options.path !== 'string' || options.path[0] !== '/' || /[\s#?]/.test(options.path)) {
    failOption('path', 'must start with "/" and hold no whitespace, "?" or "#" (use query)', options.path)
  }
  if (options.timeoutMs !== undefined) positiveNumber('timeoutMs', options.timeoutMs)
}
