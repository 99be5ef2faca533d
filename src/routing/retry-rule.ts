/**
 * When a routed request that failed before its response may go to another instance.
 *
 * The rule of the transport (docs/backends/http.md) applied to the application's requests:
 * a request that provably never left (the connection was never made, or broke before the
 * request was written) may be sent again whatever its method; an idempotent one may also
 * be sent again after a broken connection when its body can be replayed.
 */
import type { Dispatcher } from 'undici'

const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'])
/** The connection was never made: nothing was sent. */
const CONNECT_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT'])
/** The connection broke (a killed instance's kept-alive socket). */
const SOCKET_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET'])

export interface FailedAttempt {
  readonly method: string
  readonly body: Dispatcher.DispatchOptions['body']
  readonly error: Error
  /** undici started writing this attempt (onRequestStart came): bytes may have left. */
  readonly written: boolean
}

/** True when the error code proves that nothing of the request reached the instance. */
export function neverLeft(attempt: FailedAttempt): boolean {
  const code = errorCode(attempt.error)
  if (code === undefined) return false
  return CONNECT_CODES.has(code) || (SOCKET_CODES.has(code) && !attempt.written)
}

export function mayResend(attempt: FailedAttempt): boolean {
  if (neverLeft(attempt)) return true
  const code = errorCode(attempt.error)
  return code !== undefined && SOCKET_CODES.has(code) && IDEMPOTENT.has(attempt.method.toUpperCase()) && replayable(attempt.body)
}

function errorCode(error: Error): string | undefined {
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' ? code : undefined
}

function replayable(body: Dispatcher.DispatchOptions['body']): boolean {
  return body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array
}
