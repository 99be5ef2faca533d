/**
 * The RequestContext handed to route handlers. Its `query` and `signal` are made on first
 * use: most requests (heartbeats above all) read neither, and an AbortController that is
 * aborted when every response closes costs a DOMException per request (about a tenth of
 * a heartbeat's CPU when it was eager).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { RequestContext } from './handler.js'

export class LazyRequestContext implements RequestContext {
  readonly req: IncomingMessage
  readonly params: Readonly<Record<string, string>>
  readonly body: unknown
  readonly #res: ServerResponse
  readonly #search: string
  #query: URLSearchParams | undefined
  #signal: AbortSignal | undefined

  constructor(req: IncomingMessage, res: ServerResponse, params: Readonly<Record<string, string>>, search: string, body: unknown) {
    this.req = req
    this.params = params
    this.body = body
    this.#res = res
    this.#search = search
  }

  get query(): URLSearchParams {
    return (this.#query ??= new URLSearchParams(this.#search))
  }

  get signal(): AbortSignal {
    return (this.#signal ??= closeSignal(this.#res))
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
