/** Writes JSON answers: one place for the index header, content type and connection handling. */
import type { ServerResponse } from 'node:http'
import { HttpError } from './http-error.js'

export interface Answer {
  readonly status: number
  /** The body: JSON text unless `contentType` says otherwise. */
  readonly text: string | Buffer
  /** Default `application/json; charset=utf-8`. */
  readonly contentType?: string
  /** Sent as `X-Governance-Index` (protocol section 1). */
  readonly index?: string
  readonly headers?: Readonly<Record<string, string>>
  /** A streamed answer (the multiplexed watch): takes the response over instead of `text`. */
  readonly stream?: (res: ServerResponse) => void
}

export const INDEX_HEADER = 'x-governance-index'

/** An answer whose body is `body` serialised; `index` is taken from `body.index` when present. */
export function jsonAnswer(status: number, body: Record<string, unknown>, headers?: Record<string, string>): Answer {
  const index = body['index']
  const answer: { status: number; text: string; index?: string; headers?: Record<string, string> } = { status, text: JSON.stringify(body) }
  if (typeof index === 'string') answer.index = index
  if (headers) answer.headers = headers
  return answer
}

export function errorAnswer(error: HttpError): Answer {
  const index = error.extra['index']
  return { status: error.status, text: JSON.stringify(error.body()), headers: error.headers, ...(index === undefined ? {} : { index }) }
}

/**
 * Sends `answer` unless the response is already finished or its socket is gone.
 * `close` asks the client to open a new connection next time (shutdown, unread body).
 */
export function send(res: ServerResponse, answer: Answer, close: boolean): void {
  if (res.headersSent || res.destroyed || res.writableEnded) return
  if (answer.stream !== undefined) return answer.stream(res)
  // One writeHead with a flat list: setHeader would validate and store each header in a
  // map that is only read back to write the head. The extra headers (Allow,
  // WWW-Authenticate) never repeat the fixed ones, so nothing needs overriding.
  const head = ['content-type', answer.contentType ?? 'application/json; charset=utf-8', 'content-length', String(Buffer.byteLength(answer.text)), 'cache-control', 'no-store']
  if (answer.index !== undefined) head.push(INDEX_HEADER, answer.index)
  const extra = answer.headers
  if (extra !== undefined) for (const name in extra) head.push(name, extra[name]!)
  if (close) head.push('connection', 'close')
  res.writeHead(answer.status, head)
  res.end(answer.text)
}
