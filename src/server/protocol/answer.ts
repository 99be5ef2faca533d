/**
 * What a route answers, before any transport writes it: status, body text, index header.
 * The node:http adapter writes it to a ServerResponse, the fetch adapter turns it into a
 * Response; both add the same content type and `cache-control: no-store`.
 */
import type { ServerResponse } from 'node:http'
import { HttpError } from '../http-error.js'

export interface Answer {
  readonly status: number
  /** The body: JSON text unless `contentType` says otherwise. */
  readonly text: string | Buffer
  /** Default `application/json; charset=utf-8`. */
  readonly contentType?: string
  /** Sent as `X-Governance-Index` (protocol section 1). */
  readonly index?: string
  readonly headers?: Readonly<Record<string, string>>
  /** A streamed answer (the multiplexed watch, node:http only): takes the response over instead of `text`. */
  readonly stream?: (res: ServerResponse) => void
  /** Close the connection after answering (an error answer that left a body unread). */
  readonly close?: boolean
  /** No answer at all: the connection is dropped (a test registry's injected outage). */
  readonly drop?: boolean
}

export const INDEX_HEADER = 'x-governance-index'
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8'

/** The answer of a server that is not there: the adapters drop the connection. */
export const DROPPED: Answer = { status: 0, text: '', drop: true }

/** An answer whose body is `body` serialised; `index` is taken from `body.index` when present. */
export function jsonAnswer(status: number, body: Record<string, unknown>, headers?: Record<string, string>): Answer {
  const index = body['index']
  const answer: { status: number; text: string; index?: string; headers?: Record<string, string> } = { status, text: JSON.stringify(body) }
  if (typeof index === 'string') answer.index = index
  if (headers) answer.headers = headers
  return answer
}

/** The error answer of protocol section 2; `error.index`, when set, is also the index header. */
export function errorAnswer(error: HttpError): Answer {
  const index = error.extra['index']
  return {
    status: error.status,
    text: JSON.stringify(error.body()),
    headers: error.headers,
    ...(index === undefined ? {} : { index }),
    ...(error.close ? { close: true } : {}),
  }
}
