/** The conformance checker's HTTP calls: undici's `request`, raw answers, no client logic. */
import { randomBytes } from 'node:crypto'
import { getGlobalDispatcher } from 'undici'

export interface ConformanceContext {
  /** Base URL of the server under test, e.g. `http://127.0.0.1:7070`. */
  readonly url: string
  /** A token with write rights, when the server requires auth. */
  readonly token?: string
  /** A read-only token, for the checks of read rights. */
  readonly readToken?: string
}

export interface Reply {
  readonly method: string
  readonly path: string
  readonly status: number
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  readonly text: string
  /** The parsed body; undefined when it is not JSON. */
  readonly json: unknown
  /** Time from sending to the end of the answer. */
  readonly ms: number
}

export interface ProbeOptions {
  /** JSON-serialised unless a string, Buffer or async iterable (sent as is). */
  readonly body?: unknown
  /** Sent with a body; default application/json. */
  readonly contentType?: string
  readonly headers?: Readonly<Record<string, string>>
  /** `null` sends no Authorization; default the context's write token. */
  readonly token?: string | null
  readonly timeoutMs?: number
}

function rawBody(body: unknown): string | Buffer | AsyncIterable<Buffer> | undefined {
  if (body === undefined) return undefined
  if (typeof body === 'string' || Buffer.isBuffer(body)) return body
  if (typeof body === 'object' && body !== null && Symbol.asyncIterator in body) return body as AsyncIterable<Buffer>
  return JSON.stringify(body)
}

export async function probe(ctx: ConformanceContext, method: string, path: string, options: ProbeOptions = {}): Promise<Reply> {
  const body = rawBody(options.body)
  const token = options.token === undefined ? ctx.token : options.token
  const headers: Record<string, string> = {
    ...(body === undefined ? {} : { 'content-type': options.contentType ?? 'application/json' }),
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...options.headers,
  }
  const started = performance.now()
  // The dispatcher sends `path` byte for byte; request(url) would normalise `%2e%2e` and `..` away.
  const res = await getGlobalDispatcher().request({
    origin: new URL(ctx.url).origin,
    path,
    method: method as 'PUT',
    headers,
    ...(body === undefined ? {} : { body: body as string }),
    signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
  })
  const text = await res.body.text()
  let json: unknown
  try {
    json = text.length > 0 ? (JSON.parse(text) as unknown) : undefined
  } catch {
    json = undefined
  }
  return { method, path, status: res.statusCode, headers: res.headers, text, json, ms: performance.now() - started }
}

/** A name no other check (or run) uses, so checks can share a server. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`
}

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
