/**
 * The ProtocolRequest of a node:http request. Its `query`, `signal` and `client` are made
 * on first use: most requests (heartbeats above all) read none of them, and an
 * AbortController that is aborted when every response closes costs a DOMException per
 * request (about a tenth of a heartbeat's CPU when it was eager).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { hasBody, readBody, readJsonBody } from './body.js'
import type { ProtocolRequest } from './protocol/request.js'
import type { Target } from './router.js'

export class NodeRequest implements ProtocolRequest {
  readonly req: IncomingMessage
  readonly segments: readonly string[]
  readonly #res: ServerResponse
  readonly #search: string
  readonly #maxBodyBytes: number
  #query: URLSearchParams | undefined
  #signal: AbortSignal | undefined

  constructor(req: IncomingMessage, res: ServerResponse, target: Target, maxBodyBytes: number) {
    this.req = req
    this.segments = target.segments
    this.#res = res
    this.#search = target.search
    this.#maxBodyBytes = maxBodyBytes
  }

  get method(): string {
    return this.req.method ?? ''
  }

  get query(): URLSearchParams {
    return (this.#query ??= new URLSearchParams(this.#search))
  }

  get signal(): AbortSignal {
    return (this.#signal ??= closeSignal(this.#res))
  }

  /** The peer's address, the unit of the per-client limits and of history's `writer`. */
  get client(): string {
    const address = this.req.socket.remoteAddress ?? ''
    return address.startsWith('::ffff:') ? address.slice(7) : address
  }

  header(name: string): string | undefined {
    const value = this.req.headers[name]
    return Array.isArray(value) ? value.join(', ') : value
  }

  get hasBody(): boolean {
    return hasBody(this.req)
  }

  bytes(): Promise<Buffer> {
    return readBody(this.req, this.#maxBodyBytes)
  }

  json(): Promise<unknown> {
    return readJsonBody(this.req, this.#maxBodyBytes)
  }
}

/**
 * Aborts when the client goes away before the answer is complete, so a held query can let
 * go. A response that closes after it finished is the normal end, not a reason to abort.
 */
function closeSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController()
  // Asked for after the connection already dropped: the 'close' event has been and gone.
  if (res.closed && !res.writableFinished) controller.abort()
  else res.once('close', () => res.writableFinished || controller.abort())
  return controller.signal
}
