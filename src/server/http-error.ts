/** The error answers of protocol section 2, as a throwable value the handlers share. */

export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'internal'
  | 'unavailable'
  | 'too_many_resources'

export interface HttpErrorOptions {
  /** Extra members of the `error` object (`currentVersion`, `index`). */
  readonly extra?: Readonly<Record<string, string>>
  readonly headers?: Readonly<Record<string, string>>
  /** Close the connection after answering (a body was left unread). */
  readonly close?: boolean
}

export class HttpError extends Error {
  readonly status: number
  readonly code: ErrorCode
  readonly extra: Readonly<Record<string, string>>
  readonly headers: Readonly<Record<string, string>>
  readonly close: boolean

  constructor(status: number, code: ErrorCode, message: string, options: HttpErrorOptions = {}) {
    super(message)
    this.name = 'HttpError'
    this.status = status
    this.code = code
    this.extra = options.extra ?? {}
    this.headers = options.headers ?? {}
    this.close = options.close ?? false
  }

  body(): { error: Record<string, string> } {
    return { error: { code: this.code, message: this.message, ...this.extra } }
  }
}

export const badRequest = (message: string): HttpError => new HttpError(400, 'bad_request', message)

export const notFound = (message: string, extra?: Record<string, string>): HttpError =>
  new HttpError(404, 'not_found', message, extra ? { extra } : {})
