/**
 * Eager validation of transport options: a wrong option fails at creation with a message
 * that names it and its value, not later inside a background loop.
 */
import { InvalidArgumentError } from '../errors.js'
import { silentLogger, type Logger } from '../internal/logger.js'
import { LIBRARY_USER_AGENT } from '../internal/version.js'
import type { HttpMethod, RetryPolicy, TlsOptions, TransportOptions } from './types.js'
import { describeValue } from '../internal/describe.js'
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

function fail(message: string, details?: Record<string, unknown>): never {
  throw new InvalidArgumentError(message, details === undefined ? {} : { details })
}

export const show = describeValue

export function checkPositive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    fail(`${name} must be a positive finite number, got ${show(value)}`)
  }
  return value
}

function checkInteger(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    fail(`${name} must be an integer >= ${min}, got ${show(value)}`)
  }
  return value
}

/** Header values with CR or LF would split the request; undici would throw its own error later. */
export function checkHeaderValue(name: string, value: unknown): string {
  if (typeof value !== 'string' || /[\r\n\0]/.test(value)) {
    fail(`${name} must be a string without CR, LF or NUL, got ${show(value)}`)
  }
  return value
}

export function parseServer(name: string, value: unknown): ServerTarget {
  if (typeof value !== 'string' || value.length === 0) fail(`${name} must be a non-empty URL string, got ${show(value)}`)
  let url: URL
  try {
    url = new URL(value)
  } catch {
    fail(`${name} is not a valid URL: ${show(value)}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(`${name} must be an http or https URL, got ${show(value)}`)
  // WHATWG URLs take any length of host; DNS does not (RFC 1035), and no connect could succeed.
  if (url.hostname.length > 253) fail(`${name} has a host name longer than 253 characters, got ${show(value)}`)
  // Credentials in a URL end up in logs and error messages; tokens go in `token`.
  if (url.username !== '' || url.password !== '') fail(`${name} must not carry credentials (use the token option), got ${show(url.origin)}`)
  if (url.search !== '' || url.hash !== '') fail(`${name} must not have a query or fragment, got ${show(value)}`)
  const prefix = url.pathname.replace(/\/+$/, '')
  return { base: url.origin + prefix, origin: url.origin, prefix, https: url.protocol === 'https:' }
}

export function resolveRetryPolicy(name: string, value: Partial<RetryPolicy> | undefined, base: RetryPolicy): RetryPolicy {
  if (value === undefined) return base
  if (typeof value !== 'object' || value === null) fail(`${name} must be an object, got ${show(value)}`)
  const retries = value.retries === undefined ? base.retries : checkInteger(`${name}.retries`, value.retries, 0)
  const minDelayMs = value.minDelayMs === undefined ? base.minDelayMs : checkInteger(`${name}.minDelayMs`, value.minDelayMs, 0)
  const maxDelayMs = value.maxDelayMs === undefined ? base.maxDelayMs : checkInteger(`${name}.maxDelayMs`, value.maxDelayMs, 0)
  if (minDelayMs > maxDelayMs) fail(`${name}.minDelayMs (${minDelayMs}) must not exceed ${name}.maxDelayMs (${maxDelayMs})`)
  return { retries, minDelayMs, maxDelayMs }
}

function isPem(value: unknown): value is string | Buffer {
  return (typeof value === 'string' && value.length > 0) || Buffer.isBuffer(value)
}

function resolveTls(value: TlsOptions | undefined): TlsOptions | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'object' || value === null) fail(`tls must be an object, got ${show(value)}`)
  const cas = value.ca === undefined ? [] : Array.isArray(value.ca) ? value.ca : [value.ca]
  cas.forEach((ca: unknown, i: number) => {
    if (!isPem(ca)) fail(`tls.ca${Array.isArray(value.ca) ? `[${i}]` : ''} must be a PEM string or Buffer, got ${show(ca)}`)
  })
  if (value.cert !== undefined && !isPem(value.cert)) fail(`tls.cert must be a PEM string or Buffer, got ${show(value.cert)}`)
  if (value.key !== undefined && !isPem(value.key)) fail(`tls.key must be a PEM string or Buffer, got ${show(value.key)}`)
  if ((value.cert === undefined) !== (value.key === undefined)) fail('tls.cert and tls.key must be given together (mutual TLS)')
  if (value.servername !== undefined && (typeof value.servername !== 'string' || value.servername.length === 0)) {
    fail(`tls.servername must be a non-empty string, got ${show(value.servername)}`)
  }
  return value
}

function resolveHeaders(value: unknown, token: unknown): Record<string, string> {
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': LIBRARY_USER_AGENT }
  if (value !== undefined) {
    if (typeof value !== 'object' || value === null) fail(`headers must be an object of strings, got ${show(value)}`)
    for (const [k, v] of Object.entries(value)) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k)) fail(`headers has an invalid header name ${show(k)}`)
      headers[k.toLowerCase()] = checkHeaderValue(`headers[${JSON.stringify(k)}]`, v)
    }
  }
  if (token !== undefined) {
    if (typeof token !== 'string' || token.length === 0) fail(`token must be a non-empty string, got ${token === '' ? '""' : typeof token}`)
    // Never echo a token in a message.
    if (/[\r\n\0\s]/.test(token)) fail('token must not contain whitespace or control characters')
    headers.authorization = `Bearer ${token}`
  }
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

/** Refuses keys that are not options: a misspelt tuning option would otherwise be ignored in silence. */
export function checkKnownKeys(what: string, value: object, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) fail(`${what}${key} is not an option (known: ${known.join(', ')})`, { option: key })
  }
}

export function resolveBreaker(name: string, value: unknown): BreakerPolicy {
  if (value === undefined) return DEFAULT_BREAKER
  if (typeof value !== 'object' || value === null) fail(`${name} must be an object, got ${show(value)}`)
  checkKnownKeys(`${name}.`, value, ['cooldownMs', 'maxCooldownMs'])
  const v = value as Partial<BreakerPolicy>
  const cooldownMs = v.cooldownMs === undefined ? DEFAULT_BREAKER.cooldownMs : checkInteger(`${name}.cooldownMs`, v.cooldownMs, 1)
  const maxCooldownMs = v.maxCooldownMs === undefined ? Math.max(cooldownMs, DEFAULT_BREAKER.maxCooldownMs) : checkInteger(`${name}.maxCooldownMs`, v.maxCooldownMs, 1)
  if (cooldownMs > maxCooldownMs) fail(`${name}.cooldownMs (${cooldownMs}) must not exceed ${name}.maxCooldownMs (${maxCooldownMs})`)
  return { cooldownMs, maxCooldownMs }
}

export function resolveTransportOptions(options: TransportOptions): ResolvedTransportOptions {
  if (typeof options !== 'object' || options === null) fail(`transport options must be an object, got ${show(options)}`)
  checkKnownKeys('transport options: ', options, TRANSPORT_KEYS)
  const list: unknown = options.servers
  if (!Array.isArray(list) || list.length === 0) fail(`servers must be a non-empty array of URLs, got ${show(list)}`)
  const servers = list.map((s: unknown, i) => parseServer(`servers[${i}]`, s))
  if (options.authorization !== undefined && typeof options.authorization !== 'function') {
    fail(`authorization must be a function, got ${show(options.authorization)}`)
  }
  if (options.authorization !== undefined && options.token !== undefined) fail('token and authorization are exclusive: give one')
  return {
    servers,
    requestTimeoutMs: options.requestTimeoutMs === undefined ? DEFAULT_REQUEST_TIMEOUT_MS : checkPositive('requestTimeoutMs', options.requestTimeoutMs),
    maxResponseBytes: options.maxResponseBytes === undefined ? DEFAULT_MAX_RESPONSE_BYTES : checkInteger('maxResponseBytes', options.maxResponseBytes, 1),
    retry: resolveRetryPolicy('retry', options.retry, DEFAULT_RETRY),
    connections: options.connections === undefined ? DEFAULT_CONNECTIONS : checkInteger('connections', options.connections, 1),
    heldConnections: options.heldConnections === undefined ? DEFAULT_HELD_CONNECTIONS : checkInteger('heldConnections', options.heldConnections, 1),
    attemptTimeoutMs: options.attemptTimeoutMs === undefined ? undefined : checkPositive('attemptTimeoutMs', options.attemptTimeoutMs),
    breaker: resolveBreaker('breaker', options.breaker),
    headers: resolveHeaders(options.headers, options.token),
    authorization: options.authorization,
    tls: resolveTls(options.tls),
    logger: options.logger ?? silentLogger,
  }
}

/** Per-call checks: cheap, since they run on every request. */
export function checkRequestShape(options: { method: unknown; path: unknown; timeoutMs?: unknown }): void {
  if (typeof options !== 'object' || options === null) fail(`request options must be an object, got ${show(options)}`)
  if (typeof options.method !== 'string' || !METHODS.has(options.method)) fail(`method must be GET, POST, PUT or DELETE, got ${show(options.method)}`)
  if (typeof options.path !== 'string' || options.path[0] !== '/' || /[\s#?]/.test(options.path)) {
    fail(`path must start with "/" and hold no whitespace, "?" or "#" (use query), got ${show(options.path)}`)
  }
  if (options.timeoutMs !== undefined) checkPositive('timeoutMs', options.timeoutMs)
}
