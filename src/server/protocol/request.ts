/**
 * A request as the protocol handler sees it, whatever carried it: the node:http adapter
 * (src/server/node-request.ts) and the fetch adapter (src/testing/protocol-v1/fetch-request.ts)
 * make one. Members that cost something to make (the query, the signal) are made on first
 * use: most requests, heartbeats above all, read neither.
 */
import type { Answer } from './answer.js'
import type { Caller, MaybePromise } from './store.js'

export interface ProtocolRequest extends Caller {
  readonly method: string
  /** Percent-decoded path segments, without the leading empty one. */
  readonly segments: readonly string[]
  readonly query: URLSearchParams
  /** A request header (lower-case name), or undefined. */
  header(name: string): string | undefined
  /** Whether the request announces a body at all (a non-zero length or chunked encoding). */
  readonly hasBody: boolean
  /** The body's bytes, size-capped (413 past the cap). */
  bytes(): Promise<Buffer>
  /** The body checked (JSON content type) and parsed; undefined when none was sent. */
  json(): Promise<unknown>
}

/** What a route handler receives: the request, the path's captures and the body its route reads. */
export class RouteContext {
  readonly request: ProtocolRequest
  readonly params: Readonly<Record<string, string>>
  /** The parsed JSON body for routes that take one ('raw' routes: a Buffer); undefined when none was sent. */
  readonly body: unknown

  constructor(request: ProtocolRequest, params: Readonly<Record<string, string>>, body: unknown) {
    this.request = request
    this.params = params
    this.body = body
  }

  get query(): URLSearchParams {
    return this.request.query
  }

  /** Aborts when the client goes away, so a held query can let go. */
  get signal(): AbortSignal {
    return this.request.signal
  }
}

export type Handler = (ctx: RouteContext) => MaybePromise<Answer>
