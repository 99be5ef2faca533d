/**
 * The transport's contract: the only way the rest of the package makes HTTP calls.
 * Implemented in src/transport/ on undici; backends depend on this file only.
 */
import type { Logger } from '../internal/logger.js'

export interface TlsOptions {
  /** Extra CA certificates (PEM). Certificates are always verified. */
  readonly ca?: string | Buffer | readonly (string | Buffer)[]
  /** Client certificate and key (PEM) for mutual TLS. */
  readonly cert?: string | Buffer
  readonly key?: string | Buffer
  /** SNI / certificate host name, when it differs from the URL's host. */
  readonly servername?: string
}

export interface RetryPolicy {
  /** Attempts after the first; 0 disables retries. */
  readonly retries: number
  readonly minDelayMs: number
  readonly maxDelayMs: number
}

export interface TransportOptions {
  /** Base URLs tried in order; the first that answers is kept until it fails. */
  readonly servers: readonly string[]
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string
  /** Computes the Authorization header per call (etcd sends its token without "Bearer"). */
  readonly authorization?: () => string | undefined
  readonly tls?: TlsOptions
  /** Deadline for a whole call, retries included. Default 5,000 ms. */
  readonly requestTimeoutMs?: number
  /** Cap on a response body; larger answers reject with ResponseTooLargeError. Default 4 MiB. */
  readonly maxResponseBytes?: number
  readonly retry?: Partial<RetryPolicy>
  /** Keep-alive connections per origin for unary calls. Default 16. */
  readonly connections?: number
  /**
   * Connections per origin for held requests (watch streams, blocking queries: `held: true`),
   * a pool apart from unary calls so that watches never delay heartbeats. Past this many
   * held requests in flight a new one fails with RequestRejectedError. Default 1,024.
   */
  readonly heldConnections?: number
  /**
   * Cap of one attempt on one server. By default an attempt gets the call's remaining
   * deadline shared among the servers still to try, so a hung server leaves time for the next.
   */
  readonly attemptTimeoutMs?: number
  /** A server that failed is tried after the others for `cooldownMs` (doubling up to `maxCooldownMs`). Default 1,000 / 30,000 ms. */
  readonly breaker?: { readonly cooldownMs?: number; readonly maxCooldownMs?: number }
  readonly headers?: Readonly<Record<string, string>>
  readonly logger?: Logger
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE'

export interface RequestOptions {
  readonly method: HttpMethod
  /** Appended to the server's base URL (which may carry a path prefix of its own). */
  readonly path: string
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>
  /** JSON-encoded when present. */
  readonly body?: unknown
  /** A body sent as it is, for servers that take another format (the Pushgateway's text). Not with `body`. */
  readonly rawBody?: { readonly data: string; readonly contentType: string }
  readonly headers?: Readonly<Record<string, string>>
  /** Retry only when true. Default: true for GET, PUT, DELETE; false for POST. */
  readonly idempotent?: boolean
  /** Overrides the transport's deadline for this call (retries included). */
  readonly timeoutMs?: number
  readonly signal?: AbortSignal
  /** Statuses returned as answers instead of thrown (2xx always are). e.g. [404, 409]. */
  readonly accept?: readonly number[]
  /** Overrides the retry policy for this call; `false` for a single attempt. */
  readonly retry?: false | Partial<RetryPolicy>
  readonly maxResponseBytes?: number
  /** The success body as UTF-8 text instead of decoded JSON (servers answering plain text, e.g. Nacos's `ok`). */
  readonly text?: boolean
  /**
   * The server may hold this request (a blocking query): it uses the held-connection pool,
   * and its one attempt gets the whole deadline (a timeout then marks the server failed).
   */
  readonly held?: boolean
}

export interface TransportResponse<T = unknown> {
  readonly status: number
  readonly headers: Readonly<Record<string, string | undefined>>
  /** Decoded JSON (text with `text: true`); undefined for an empty body. */
  readonly body: T
  /** Base URL of the server that answered. */
  readonly server: string
}

/** A long-lived response read as newline-delimited JSON (etcd watch streams). */
export interface JsonStream {
  readonly status: number
  readonly server: string
  /** One decoded JSON value per line; a last line without newline is yielded too. */
  readonly frames: AsyncIterable<unknown>
  /** Aborts the request and ends `frames`. Idempotent. */
  close(): void
}

/** A stream is always held (its own connection budget, see `heldConnections`). */
export interface StreamOptions extends Omit<RequestOptions, 'retry' | 'idempotent' | 'maxResponseBytes' | 'held'> {
  /** Cap on one line; default 4 MiB. */
  readonly maxFrameBytes?: number
}

export interface Transport {
  request<T = unknown>(options: RequestOptions): Promise<TransportResponse<T>>
  /** Opens a stream; `timeoutMs` bounds only until the response headers arrive. */
  stream(options: StreamOptions): Promise<JsonStream>
  /** Closes every connection. Idempotent. */
  close(): Promise<void>
}
