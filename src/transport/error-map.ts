/**
 * Turns whatever a call can fail with (undici and Node socket errors, HTTP statuses) into
 * GovernanceErrors, and records beside each one what the retry and failover logic needs
 * to know. Nothing undici throws leaves the transport unwrapped.
 */
import {
  AuthError,
  ClientClosedError,
  ConflictError,
  GovernanceError,
  InvalidArgumentError,
  NotFoundError,
  ProtocolError,
  RequestRejectedError,
  ServerError,
  ServerUnavailableError,
  TimeoutError,
  isGovernanceError,
} from '../errors.js'

/** How a failed attempt may be repeated. Kept off the public error object on purpose. */
export interface FailureInfo {
  /** Nothing reached the server, so repeating is safe for any method (POST included). */
  readonly beforeSend: boolean
  /** Another server may do better (connect failure, 502/503/504). */
  readonly failover: boolean
  /** A later attempt may succeed: repeated for idempotent calls, or any call when `beforeSend`. */
  readonly transient: boolean
  /** The server's Retry-After, in milliseconds from now. */
  readonly retryAfterMs?: number
}

const infos = new WeakMap<object, FailureInfo>()

export function failureInfo(error: unknown): FailureInfo | undefined {
  return typeof error === 'object' && error !== null ? infos.get(error) : undefined
}

function tag<E extends GovernanceError>(error: E, info: FailureInfo): E {
  infos.set(error, info)
  return error
}

/** Where a call went, for messages and details. Never holds credentials. */
export interface CallTarget {
  readonly method: string
  readonly url: string
}

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
])

const SOCKET_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_INFO',
])

const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|ERR_OSSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH|INVALID_CA|INVALID_PURPOSE)/

/** The code of an error, looking inside an AggregateError (happy eyeballs tries several addresses). */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string') return code
  const inner = (error as { errors?: unknown }).errors
  return Array.isArray(inner) ? errorCode(inner[0]) : undefined
}

function describe(error: unknown): string {
  const code = errorCode(error)
  const message = error instanceof Error ? error.message : String(error)
  const text = message && message !== code ? `${code ?? 'error'}: ${message}` : (code ?? 'unknown error')
  return sanitizeExcerpt(text, 200)
}

/**
 * Maps an error raised while sending or receiving (no HTTP status to go by). `closed` tells
 * whether the transport was closed meanwhile, which explains undici's "destroyed" errors.
 */
export function mapNetworkError(error: unknown, target: CallTarget, closed: boolean): GovernanceError {
  if (isGovernanceError(error)) return error
  const code = errorCode(error)
  const details = { url: target.url, method: target.method, errorCode: code }
  const where = `${target.method} ${target.url}`
  const options = { cause: error, details }
  if (closed) return new ClientClosedError(`${where}: the transport was closed`, options)
  if (code !== undefined && CONNECT_CODES.has(code)) {
    return tag(new ServerUnavailableError(`${where}: cannot connect (${describe(error)})`, options), {
      beforeSend: true,
      failover: true,
      transient: true,
    })
  }
  if (code !== undefined && TLS_CODE.test(code)) {
    // A certificate problem does not go away by waiting, but another server may be fine.
    const hint = code.startsWith('ERR_SSL_') ? '' : '; certificates are always verified: pass tls.ca for a private CA'
    return tag(
      new ServerUnavailableError(`${where}: TLS handshake failed (${describe(error)})${hint}`, {
        ...options,
        retryable: false,
        details: { ...details, tls: true },
      }),
      { beforeSend: true, failover: true, transient: false },
    )
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return tag(new TimeoutError(`${where}: the server stopped answering (${describe(error)})`, options), {
      beforeSend: false,
      failover: false,
      transient: true,
    })
  }
  if (code === 'UND_ERR_INVALID_ARG') return new InvalidArgumentError(`${where}: invalid request (${describe(error)})`, options)
  const parserError = error instanceof Error && error.name === 'HTTPParserError'
  if (parserError || code === 'UND_ERR_HEADERS_OVERFLOW' || (code !== undefined && code.startsWith('HPE_'))) {
    return new ProtocolError(`${where}: the answer is not valid HTTP/1.1 (${describe(error)})`, options)
  }
  // Resets, hang-ups and anything unknown: the request may have been processed, so only
  // idempotent calls repeat it.
  const message = code !== undefined && SOCKET_CODES.has(code) ? 'connection failed' : 'request failed'
  return tag(new ServerUnavailableError(`${where}: ${message} (${describe(error)})`, options), {
    beforeSend: false,
    failover: false,
    transient: true,
  })
}

/**
 * One attempt got no answer within its share of the call's deadline: the server may be
 * hung (sockets open, nothing answered), so the call moves on to the next server.
 */
export function attemptTimeout(target: CallTarget, ms: number): TimeoutError {
  return tag(
    new TimeoutError(`${target.method} ${target.url}: no answer within this attempt's ${ms} ms`, {
      details: { url: target.url, method: target.method, attemptTimeoutMs: ms },
    }),
    { beforeSend: false, failover: true, transient: true },
  )
}

/** The server's own account of an error, from its JSON body or, failing that, its text. */
export interface ServerErrorInfo {
  readonly code?: string
  readonly message?: string
  /** A short, sanitized excerpt of a body that was not a known error shape. */
  readonly excerpt?: string
}

/** Reads protocol v1's `{error:{code,message}}` or etcd's gateway `{error,message,code}`. */
export function parseServerError(json: unknown, text: string): ServerErrorInfo {
  if (typeof json === 'object' && json !== null && !Array.isArray(json)) {
    const body = json as Record<string, unknown>
    const nested = body.error
    if (typeof nested === 'object' && nested !== null && !Array.isArray(nested)) {
      const e = nested as Record<string, unknown>
      return compact(stringOf(e.code), stringOf(e.message))
    }
    if (typeof nested === 'string' || typeof body.message === 'string') {
      return compact(stringOf(body.code), stringOf(body.message) ?? stringOf(nested))
    }
  }
  const excerpt = sanitizeExcerpt(text, 160)
  return excerpt === '' ? {} : { excerpt }
}

function stringOf(value: unknown): string | undefined {
  if (typeof value === 'string') return sanitizeExcerpt(value, 300) || undefined
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  return undefined
}

function compact(code: string | undefined, message: string | undefined): ServerErrorInfo {
  return { ...(code === undefined ? {} : { code }), ...(message === undefined ? {} : { message }) }
}

/**
 * Makes a piece of a server's answer safe to put in a message: tags of an HTML page
 * dropped, control characters and runs of whitespace turned into one space, length capped.
 */
export function sanitizeExcerpt(text: string, max: number): string {
  let s = text.length > max * 8 ? text.slice(0, max * 8) : text
  if (s.includes('<')) s = s.replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]*>/g, ' ')
  // eslint-disable-next-line no-control-regex
  s = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\s]+/g, ' ').trim()
  return s.length > max ? `${s.slice(0, max - 1)}…` : s
}

/** Retry-After: delay-seconds or an HTTP date (RFC 9110 §10.2.3). Undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined
  const v = value.trim()
  if (/^\d+$/.test(v)) return Math.min(Number(v) * 1000, 86_400_000)
  const at = Date.parse(v)
  return Number.isNaN(at) ? undefined : Math.min(Math.max(0, at - now), 86_400_000)
}

/** Maps a non-2xx status the caller did not accept. */
export function mapStatus(status: number, target: CallTarget, server: ServerErrorInfo, retryAfterMs?: number): GovernanceError {
  const said = server.message ?? server.excerpt
  const label = server.code === undefined ? '' : ` ${server.code}`
  const message = `${target.method} ${target.url} answered ${status}${label}${said === undefined ? '' : `: ${said}`}`
  const details: Record<string, unknown> = { url: target.url, method: target.method, serverCode: server.code }
  if (retryAfterMs !== undefined) details.retryAfterMs = retryAfterMs
  const options = { status, details }
  if (status === 401 || status === 403) return new AuthError(message, options)
  if (status === 404) return new NotFoundError(message, options)
  if (status === 409) return new ConflictError(message, options)
  if (status === 429 || status === 502 || status === 503 || status === 504) {
    return tag(new ServerUnavailableError(message, options), {
      beforeSend: false,
      failover: status !== 429,
      transient: true,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    })
  }
  if (status >= 500) return new ServerError(message, options)
  if (status >= 400) return new RequestRejectedError(message, options)
  // Redirects are not followed: a governance server has no reason to send one.
  return new ProtocolError(`${message} (unexpected status)`, options)
}
