/**
 * Everything the client throws or emits is a GovernanceError with a stable `code`.
 *
 * `instanceof` must hold across the ESM and CJS builds and across subpath entry points,
 * which each carry their own copy of these classes. Each error therefore records the
 * kinds of its class chain under a `Symbol.for` key, and `Symbol.hasInstance` checks
 * that record instead of the prototype chain.
 */

const KINDS = Symbol.for('governance-client.error-kinds')

export type GovernanceErrorCode =
  | 'GOV_ERROR'
  | 'GOV_INVALID_ARGUMENT'
  | 'GOV_SERVER_UNAVAILABLE'
  | 'GOV_SERVER_ERROR'
  | 'GOV_TIMEOUT'
  | 'GOV_AUTH_REFUSED'
  | 'GOV_PROTOCOL'
  | 'GOV_RESPONSE_TOO_LARGE'
  | 'GOV_REQUEST_REJECTED'
  | 'GOV_CONFLICT'
  | 'GOV_NOT_FOUND'
  | 'GOV_LEASE_LOST'
  | 'GOV_NO_AVAILABLE_INSTANCE'
  | 'GOV_UPSTREAM_UNAVAILABLE'
  | 'GOV_CLIENT_CLOSED'
  | 'GOV_NOT_SUPPORTED'
  | 'GOV_VALIDATION'

export interface GovernanceErrorOptions {
  cause?: unknown
  /** Overrides the class default, e.g. a 4xx that is worth retrying. */
  retryable?: boolean
  /** HTTP status of the answer that caused it, when there was one. */
  status?: number
  /** Free-form facts for logs (service, key, url…); never secrets. */
  details?: Record<string, unknown>
}

export class GovernanceError extends Error {
  static readonly kind: string = 'GovernanceError'
  /** Its own code, so matching `GOV_SERVER_ERROR` means a 5xx and nothing else. */
  static readonly defaultCode: GovernanceErrorCode = 'GOV_ERROR'
  static readonly defaultRetryable: boolean = false

  readonly code: GovernanceErrorCode
  readonly retryable: boolean
  readonly status: number | undefined
  readonly details: Record<string, unknown> | undefined
  declare readonly [KINDS]: readonly string[]

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true
    const kinds = (value as { [KINDS]?: unknown })[KINDS]
    return Array.isArray(kinds) && kinds.includes(this.kind)
  }

  constructor(message: string, options: GovernanceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    const ctor = new.target as typeof GovernanceError
    this.name = ctor.name
    this.code = ctor.defaultCode
    this.retryable = options.retryable ?? ctor.defaultRetryable
    this.status = options.status
    this.details = options.details
    Object.defineProperty(this, KINDS, { value: kindsOf(ctor), enumerable: false })
  }
}

function kindsOf(ctor: typeof GovernanceError): string[] {
  const kinds: string[] = []
  let c: unknown = ctor
  while (typeof c === 'function' && Object.hasOwn(c, 'kind')) {
    kinds.push((c as typeof GovernanceError).kind)
    c = Object.getPrototypeOf(c)
  }
  return kinds
}

/** A user-supplied argument or option is wrong; the message names it and its value. */
export class InvalidArgumentError extends GovernanceError {
  static override readonly kind: string = 'InvalidArgumentError'
  static override readonly defaultCode: GovernanceErrorCode = 'GOV_INVALID_ARGUMENT'
}

/** No server could be reached (connect refused, reset, DNS, 502/503/504, 429). */
export class ServerUnavailableError extends GovernanceError {
  static override readonly kind: string = 'ServerUnavailableError'
  static override readonly defaultCode: GovernanceErrorCode = 'GOV_SERVER_UNAVAILABLE'
  static override readonly defaultRetryable = true
}

/** The server answered with an unexpected 5xx. */
export class ServerError extends GovernanceError {
  static override readonly kind: string = 'ServerError'
  static override readonly defaultCode: GovernanceErrorCode = 'GOV_SERVER_ERROR'
  static override readonly defaultRetryable = true
}

/** A call did not finish within its deadline. */
export class TimeoutError extends GovernanceError {
  static override readonly kind: string = 'TimeoutError'
  static override readonly defaultCode: GovernanceErrorCode = 'GOV_TIMEOUT'
  static override readonly defaultRetryable = true
}

/** The server refused the credentials (401) or the right (403). */
export class AuthError extends GovernanceError {
  static override readonly kind: string = 'AuthError'
  static override readonly defaultCode: GovernanceErrorCode = 'GOV_AUTH_REFUSED'
}

/** The server's answer is malformed or not what the protocol allows. */
export class ProtocolError extends GovernanceError {
  static override readonly kind: string = 'ProtocolError'
  static override readonly defaultCode: GovernanceErrorCode = 'GOV_PROTOCOL'
}

/** The server's answer exceeded the client's body-size cap. */
export class ResponseTooLargeError extends ProtocolError {
  static override readonly kind: string = 'ResponseTooLargeError'
  static override readonly defaultCode: GovernanceErrorCode = 'GOV_RESPONSE_TOO_LARGE'
}

/** The server rejected the request as invalid (a 4xx other than the ones with their own class). */
export class RequestRejectedError extends GovernanceError {
  static override readonly kind: string = 'RequestRejectedError'
  static override readonly defaultCode: GovernanceErrorCode = 'GOV_REQUEST_REJECTED'
}

/** A compare-and-set lost a race: the stored version was not the expected one. */
export class ConflictError extends GovernanceError {
  static override readonly kind: string = 'ConflictError'
  static override readonly defaultCode: GovernanceErrorCode = 'GOV_CONFLICT'
}

/** The thing asked for does not exist at the server. */
export class NotFoundError extends GovernanceError {
  static override readonly kind: string = 'NotFoundError'
  static override readonly defaultCode: GovernanceErrorCode = 'GOV_NOT_FOUND'
}

/** The server no longer holds this instance's registration; the client re-registers. */
export class LeaseLostError extends GovernanceError {
  static override readonly kind: string = 'LeaseLostError'
  static override readonly defaultCode: GovernanceErrorCode = 'GOV_LEASE_LOST'
}

/** Discovery found no instance that passes the filters. */
export class NoAvailableInstanceError extends GovernanceError {
  static override readonly kind: string = 'NoAvailableInstanceError'
  static override readonly defaultCode: GovernanceErrorCode = 'GOV_NO_AVAILABLE_INSTANCE'
}

/**
 * A request routed by gov.fetch / gov.dispatcher failed at the upstream (connect refused,
 * reset, DNS…), not at the governance server: `details` says which
 * (`{ service, instanceId, address }` for a routed request, `{ url }` for one passed through).
 */
export class UpstreamError extends GovernanceError {
  static override readonly kind: string = 'UpstreamError'
  static override readonly defaultCode: GovernanceErrorCode = 'GOV_UPSTREAM_UNAVAILABLE'
  static override readonly defaultRetryable = true
}

/** The client was closed; no new work is accepted. */
export class ClientClosedError extends GovernanceError {
  static override readonly kind: string = 'ClientClosedError'
  static override readonly defaultCode: GovernanceErrorCode = 'GOV_CLIENT_CLOSED'
}

/** The backend's server cannot do this (see the backend's capabilities). */
export class NotSupportedError extends GovernanceError {
  static override readonly kind: string = 'NotSupportedError'
  static override readonly defaultCode: GovernanceErrorCode = 'GOV_NOT_SUPPORTED'
}

/** A config value failed its schema; `issues` says why. */
export class ValidationError extends GovernanceError {
  static override readonly kind: string = 'ValidationError'
  static override readonly defaultCode: GovernanceErrorCode = 'GOV_VALIDATION'
  readonly issues: readonly { message: string; path?: readonly PropertyKey[] }[]
  constructor(
    message: string,
    issues: readonly { message: string; path?: readonly PropertyKey[] }[],
    options: GovernanceErrorOptions = {},
  ) {
    super(message, options)
    this.issues = issues
  }
}

export function isGovernanceError(value: unknown): value is GovernanceError {
  return value instanceof GovernanceError
}

/** True for failures worth trying again (unavailable, timeouts, 5xx). */
export function isRetryableError(value: unknown): boolean {
  return isGovernanceError(value) && value.retryable
}

/** Wraps anything thrown into a GovernanceError, keeping one that already is. */
export function toGovernanceError(value: unknown, fallbackMessage = 'unexpected failure'): GovernanceError {
  if (isGovernanceError(value)) return value
  const message = value instanceof Error ? `${fallbackMessage}: ${value.message}` : fallbackMessage
  return new GovernanceError(message, { cause: value })
}
