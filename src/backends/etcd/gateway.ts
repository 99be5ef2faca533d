/**
 * Unary calls to etcd's JSON gateway: one POST per call with a deadline, the auth token
 * attached (re-authenticating and retrying once when it was refused), and the answer
 * checked to be a JSON object. Failover between members is the transport's job.
 */
import type { CallContext } from '../../backend.js'
import { AuthError, ProtocolError, toGovernanceError } from '../../errors.js'
import type { Transport } from '../../transport/types.js'
import { isTokenRejected, type TokenManager } from './auth.js'
import { describe } from './codec.js'

export interface GatewayCallOptions {
  /** May be repeated safely (reads, keepalives): lets the transport retry and fail over. */
  readonly idempotent?: boolean
  /** Statuses answered instead of thrown, e.g. 404 for "lease not found". */
  readonly accept?: readonly number[]
}

export interface GatewayAnswer {
  readonly status: number
  readonly body: Record<string, unknown>
}

/**
 * Without this header a member that lost quorum accepts watches and then stays silent,
 * and writes hang for the server's 7 s request timeout; with it both fail at once (503),
 * which lets the transport move to another member.
 */
export const HAS_LEADER_HEADER = { 'grpc-metadata-hasleader': 'true' } as const

export class Gateway {
  constructor(
    private readonly transport: Transport,
    private readonly auth: TokenManager | undefined,
    private readonly requestTimeoutMs: number,
  ) {}

  /** Headers for a call: the leader requirement and the current token. */
  async headers(): Promise<Record<string, string>> {
    if (this.auth === undefined) return { ...HAS_LEADER_HEADER }
    return { ...HAS_LEADER_HEADER, authorization: await this.auth.token() }
  }

  /** Tells the token manager that the token in `headers` was refused. */
  tokenRejected(headers: Readonly<Record<string, string>>): void {
    this.auth?.invalidate(headers.authorization)
  }

  async post(path: string, body: unknown, ctx: CallContext, options: GatewayCallOptions = {}): Promise<GatewayAnswer> {
    try {
      return await this.attempt(path, body, ctx, options)
    } catch (error) {
      if (this.auth === undefined || !isTokenRejected(error)) throw error
      return await this.attempt(path, body, ctx, options)
    }
  }

  private async attempt(path: string, body: unknown, ctx: CallContext, options: GatewayCallOptions): Promise<GatewayAnswer> {
    ctx.signal?.throwIfAborted()
    const headers = await this.headers()
    try {
      const answer = await this.transport.request<unknown>({
        method: 'POST',
        path,
        body,
        headers,
        idempotent: options.idempotent ?? false,
        timeoutMs: ctx.timeoutMs ?? this.requestTimeoutMs,
        ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
        ...(options.accept === undefined ? {} : { accept: options.accept }),
      })
      return { status: answer.status, body: asAnswerObject(answer.body, path) }
    } catch (error) {
      if (ctx.signal?.aborted && error === ctx.signal.reason) throw error
      if (isTokenRejected(error)) {
        this.tokenRejected(headers)
        if (this.auth === undefined) throw needsAuth(error)
      }
      throw toGovernanceError(error, `etcd ${path} failed`)
    }
  }
}

/** The cluster has auth enabled but this backend was given no credentials. */
function needsAuth(error: unknown): AuthError {
  const said = error instanceof Error ? error.message : String(error)
  return new AuthError(`etcd requires authentication: pass auth: { username, password } to etcdBackend (${said})`, {
    cause: error,
  })
}

function asAnswerObject(body: unknown, path: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ProtocolError(`etcd ${path} answered ${describe(body)}, not a JSON object`, { details: { path } })
  }
  return body as Record<string, unknown>
}
