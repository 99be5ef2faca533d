/** Writes JSON answers: one place for the index header, content type and connection handling. */
import type { ServerResponse } from 'node:http'
import { HttpError } from './http-error.js'

export interface Answer {
  readonly status: number
  /** The JSON text of the body. */
  readonly text: string
  /** Sent as `X-Governance-Index` (protocol section 1). */
  readonly index?: string
  readonly headers?: Readonly<Record<string, string>>
}

export const INDEX_HEADER = 'x-governance-index'

/** An answer whose body is `body` serialised; `index` is taken from `body.index` when present. */
export function jsonAnswer(status: number, body: Record<string, unknown>, headers?: Record<string, string>): Answer {
  const index = typeof body['index'] === 'string' ? body['index'] : undefined
  return { status, text: JSON.stringify(body), ...(index === undefined ? {} : { index }), ...(headers ? { headers } : {}) }
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
  const length = Buffer.byteLength(answer.text)
  res.statusCode = answer.status
  res.setHeader('content-type', 'application/json; charset=utf-8')
  res.setHeader('content-length', length)
  res.setHeader('cache-control', 'no-store')
  if (answer.index !== undefined) res.setHeader(INDEX_HEADER, answer.index)
  for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, value)
  if (close) res.setHeader('connection', 'close')
  res.end(answer.text)
}
