/**
 * Username/password auth: etcd hands out a token (`/v3/auth/authenticate`) that is sent
 * as a bare `Authorization: <token>` header. Simple tokens live in one member's memory
 * and lapse after a TTL that slides with use, so any call may find its token rejected
 * (after a failover or a quiet spell): the caller then re-authenticates and retries once.
 */
import { AuthError, isGovernanceError, type GovernanceError } from '../../errors.js'

export interface EtcdCredentials {
  readonly username: string
  readonly password: string
}

/** Answers the token for these credentials; no Authorization header may be sent with it. */
export type Authenticate = (credentials: EtcdCredentials) => Promise<string>

export class TokenManager {
  #token: string | undefined
  #pending: Promise<string> | undefined

  constructor(
    private readonly credentials: EtcdCredentials,
    private readonly authenticate: Authenticate,
  ) {}

  /** The current token, authenticating first when there is none (one request for all callers). */
  token(): Promise<string> {
    if (this.#token !== undefined) return Promise.resolve(this.#token)
    this.#pending ??= this.authenticate(this.credentials).then(
      (token) => {
        this.#token = token
        this.#pending = undefined
        return token
      },
      (error: unknown) => {
        this.#pending = undefined
        throw error
      },
    )
    return this.#pending
  }

  /** Forgets `token` if it is still current; a concurrent caller may already have replaced it. */
  invalidate(token: string | undefined): void {
    if (token !== undefined && this.#token === token) this.#token = undefined
  }
}

/**
 * True when the server refused the token itself (expired, unknown to this member, or
 * missing), which a fresh token cures; false for a refused permission, which it does not.
 */
export function isTokenRejected(error: unknown): boolean {
  if (!isGovernanceError(error)) return false
  if (error.status === 401) return true
  return TOKEN_PROBLEM.test(error.message)
}

/** The same test for the `cancel_reason` of a watch, which arrives as text in a frame. */
export function isTokenProblemText(text: string): boolean {
  return TOKEN_PROBLEM.test(text)
}

const TOKEN_PROBLEM = /invalid auth token|user name is empty|revision of auth store is old/i

/** Authentication failures are reported as AuthError whatever status etcd chose (it uses 400). */
export function toAuthError(error: GovernanceError): GovernanceError {
  if (error instanceof AuthError) return error
  if (error.status !== undefined && error.status >= 400 && error.status < 500) {
    return new AuthError(`etcd refused to authenticate: ${error.message}`, { cause: error, status: error.status })
  }
  return error
}
