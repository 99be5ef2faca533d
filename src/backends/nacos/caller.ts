/**
 * Every Nacos call: v1 parameters as query fields (form fields for big ones), the token
 * as `accessToken` (as the Java client sends it), a login before the first call and again
 * once 90 % of `tokenTtl` has passed (SecurityProxy), and once more on a 403.
 */
import type { CallContext } from '../../backend.js'
import { AuthError, ProtocolError } from '../../errors.js'
import type { Transport, TransportResponse } from '../../transport/types.js'
import type { ResolvedNacosOptions } from './options.js'

export interface NacosCall {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  /** After the context path, e.g. `/v1/ns/instance`. */
  readonly path: string
  readonly params: Record<string, string | undefined>
  /** Sent as an x-www-form-urlencoded body instead of the query. */
  readonly form?: Record<string, string>
  readonly headers?: Record<string, string>
  readonly accept?: readonly number[]
  readonly idempotent?: boolean
  /** A held request (listener long poll): the held pool, one attempt with this whole deadline. */
  readonly holdMs?: number
}

export class NacosCaller {
  private token: { value: string; refreshAt: number } | undefined
  private loggingIn: Promise<string> | undefined

  constructor(
    private readonly transport: Transport,
    private readonly o: ResolvedNacosOptions,
  ) {}

  async call(c: NacosCall, ctx: CallContext): Promise<TransportResponse<string>> {
    try {
      return await this.send(c, ctx, await this.accessToken(ctx))
    } catch (error) {
      if (!(error instanceof AuthError) || this.o.credentials === undefined) throw error
      // A token the server no longer takes (expired, restarted): log in once more.
      this.token = undefined
      return this.send(c, ctx, await this.accessToken(ctx))
    }
  }

  private send(c: NacosCall, ctx: CallContext, token: string | undefined): Promise<TransportResponse<string>> {
    const query = { ...c.params, ...(token === undefined ? {} : { accessToken: token }) }
    return this.transport.request<string>({
      method: c.method,
      path: `${this.o.contextPath}${c.path}`,
      query,
      text: true,
      ...(c.form === undefined ? {} : { rawBody: { data: new URLSearchParams(c.form).toString(), contentType: 'application/x-www-form-urlencoded; charset=utf-8' } }),
      ...(c.headers === undefined ? {} : { headers: c.headers }),
      ...(c.accept === undefined ? {} : { accept: c.accept }),
      ...(c.idempotent === undefined ? {} : { idempotent: c.idempotent }),
      ...(c.holdMs === undefined ? {} : { held: true, retry: false as const }),
      timeoutMs: c.holdMs ?? ctx.timeoutMs ?? this.o.requestTimeoutMs,
      ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
    })
  }

  private async accessToken(ctx: CallContext): Promise<string | undefined> {
    if (this.o.credentials === undefined) return undefined
    if (this.token !== undefined && Date.now() < this.token.refreshAt) return this.token.value
    this.loggingIn ??= this.login(ctx).finally(() => {
      this.loggingIn = undefined
    })
    return this.loggingIn
  }

  private async login(ctx: CallContext): Promise<string> {
    const { username, password } = this.o.credentials!
    const answer = await this.transport.request<string>({
      method: 'POST',
      path: `${this.o.contextPath}/v1/auth/login`,
      rawBody: { data: new URLSearchParams({ username, password }).toString(), contentType: 'application/x-www-form-urlencoded; charset=utf-8' },
      text: true,
      idempotent: true,
      timeoutMs: ctx.timeoutMs ?? this.o.requestTimeoutMs,
    })
    let body: { accessToken?: unknown; tokenTtl?: unknown }
    try {
      body = JSON.parse(answer.body ?? '') as typeof body
    } catch {
      throw new ProtocolError('nacos: /v1/auth/login answered something that is not JSON')
    }
    if (typeof body.accessToken !== 'string' || body.accessToken === '') throw new ProtocolError('nacos: /v1/auth/login answered without an accessToken')
    const ttlMs = (typeof body.tokenTtl === 'number' && body.tokenTtl > 0 ? body.tokenTtl : 18_000) * 1000
    this.token = { value: body.accessToken, refreshAt: Date.now() + ttlMs - ttlMs / 10 }
    this.o.logger.debug('nacos backend: logged in', { ttlMs })
    return body.accessToken
  }
}
