/**
 * One of the seed's three Flask centers: `POST` a JSON object and expect
 * `{"success": true}`, or `GET /query?name=` and take the JSON as given. Flask's error
 * pages (HTML 400, 405, 500) become errors that say which center refused what.
 */
import type { CallContext } from '../../backend.js'
import { ProtocolError, RequestRejectedError, ServerError, isGovernanceError, toGovernanceError } from '../../errors.js'
import type { Transport } from '../../transport/types.js'
import { describeValue } from '../../internal/describe.js'

export type CenterName = 'registry' | 'monitor' | 'config'

export class SeedCenter {
  constructor(
    readonly name: CenterName,
    private readonly transport: Transport,
    private readonly requestTimeoutMs: number,
  ) {}

  /** POSTs `body` to `path`; resolves once the center answered `{"success": true}`. */
  async post(path: '/register' | '/update', body: Record<string, unknown>, ctx: CallContext): Promise<void> {
    const answer = await this.call(() =>
      this.transport.request<unknown>({
        method: 'POST',
        path,
        body,
        // Every write of these centers replaces by name, so repeating one is harmless.
        idempotent: true,
        timeoutMs: ctx.timeoutMs ?? this.requestTimeoutMs,
        ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
      }),
      path, ctx,
    )
    if (!isSuccess(answer)) {
      throw new ProtocolError(`seed ${this.name} center: POST ${path} answered ${preview(answer)}, not {"success": true}`, {
        details: { center: this.name, path, field: 'success' },
      })
    }
  }

  /** GET /query?name=…: the stored JSON as given (which may be `{"success": false}`). */
  async query(name: string, ctx: CallContext): Promise<unknown> {
    return this.call(() =>
      this.transport.request<unknown>({
        method: 'GET',
        path: '/query',
        query: { name },
        timeoutMs: ctx.timeoutMs ?? this.requestTimeoutMs,
        ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
      }),
      '/query', ctx,
    )
  }

  private async call(send: () => Promise<{ body: unknown }>, path: string, ctx: CallContext): Promise<unknown> {
    let answer: { body: unknown }
    try {
      answer = await send()
    } catch (error) {
      if (ctx.signal?.aborted && error === ctx.signal.reason) throw error
      throw this.explain(error, path)
    }
    if (answer.body === undefined) {
      throw new ProtocolError(`seed ${this.name} center: ${path} answered an empty body`, { details: { center: this.name, path } })
    }
    return answer.body
  }

  /** Names the center, and what a Flask 4xx/5xx page usually means for these tiny apps. */
  private explain(error: unknown, path: string): unknown {
    if (!isGovernanceError(error)) return toGovernanceError(error, `seed ${this.name} center: ${path} failed`)
    const hint =
      error.status === 400 ? ' (Flask could not read the JSON body)'
      : error.status === 500 ? ' (the center failed on the request: a field it needs is missing or of the wrong type)'
      : error.status === 405 || error.status === 404 ? ' (is this URL really the seed\'s ' + this.name + ' center?)'
      : ''
    if (hint === '') return error
    const options = {
      cause: error,
      ...(error.status === undefined ? {} : { status: error.status }),
      details: { ...error.details, center: this.name },
    }
    const message = `seed ${this.name} center: ${error.message}${hint}`
    // A 404/405 is a wrong URL, not a missing thing: it must not read as "not found" upstream.
    return error.status === 500 ? new ServerError(message, options) : new RequestRejectedError(message, options)
  }
}

export function isSuccess(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as { success?: unknown }).success === true
}

/** `{"success": false}` and nothing else: how every center says "no such name". */
export function isAbsent(body: unknown): boolean {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false
  const keys = Object.keys(body)
  return keys.length === 1 && (body as { success?: unknown }).success === false
}

export const preview = describeValue
