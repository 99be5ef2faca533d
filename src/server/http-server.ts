/**
 * node:http wiring: dispatch (auth, routing, bodies, handlers, error answers), answers
 * to malformed HTTP, and graceful close.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Logger } from '../internal/logger.js'
import type { TokenAuth } from './auth.js'
import { hasBody, readBody, readJsonBody } from './body.js'
import type { Handler } from './handler.js'
import { HttpError } from './http-error.js'
import { errorAnswer, send, type Answer } from './respond.js'
import { LazyRequestContext } from './request-context.js'
import { parseTarget, type Router } from './router.js'

export interface HttpServerOptions {
  readonly router: Router<Handler>
  readonly auth: TokenAuth
  readonly maxBodyBytes: number
  readonly logger: Logger
  readonly closeGraceMs: number
}

export class HttpServer {
  readonly #server: Server
  readonly #options: HttpServerOptions
  #closing = false

  constructor(options: HttpServerOptions) {
    this.#options = options
    this.#server = createServer({ requestTimeout: 120_000 }, (req, res) => void this.#handle(req, res))
    this.#server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => answerClientError(error, socket))
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error)
      this.#server.once('error', onError)
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError)
        this.#server.on('error', (error) => this.#options.logger.error('http server error', { error }))
        resolve(this.#server.address() as AddressInfo)
      })
    })
  }

  /**
   * Stops accepting and answers new requests with 503; resolves once every connection is
   * gone. Connections still busy after the grace period are cut.
   */
  close(): Promise<void> {
    this.#closing = true
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
    this.#server.closeIdleConnections()
    const timer = setTimeout(() => this.#server.closeAllConnections(), this.#options.closeGraceMs)
    timer.unref()
    return closed.finally(() => clearTimeout(timer))
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (this.#closing) throw new HttpError(503, 'unavailable', 'the server is shutting down')
      const answer = await this.#dispatch(req, res)
      send(res, answer, this.#closing)
    } catch (error) {
      const failure = error instanceof HttpError ? error : this.#internal(error)
      send(res, errorAnswer(failure), this.#closing || failure.close)
    }
  }

  async #dispatch(req: IncomingMessage, res: ServerResponse): Promise<Answer> {
    const { auth, router, maxBodyBytes } = this.#options
    const target = parseTarget(req.url ?? '/')
    const match = router.match(req.method ?? '', target.segments)
    const open = (match.kind === 'found' && match.spec.right === undefined) || (match.kind === 'method' && !match.needsAuth)
    // One check with the right the route needs: hashing the token is most of auth's cost.
    // Nothing between 401 and 403 can fail for a found route, so the answers are as if
    // read were checked first and write after routing.
    const needs = match.kind === 'found' && match.spec.right === 'write' ? 'write' : 'read'
    if (!open && (target.segments[0] === 'v1' || target.segments[0] === 'metrics' || needs === 'write')) auth.check(req.headers, needs)
    if (match.kind === 'none') throw new HttpError(404, 'not_found', 'no such path')
    if (match.kind === 'method') {
      throw new HttpError(405, 'method_not_allowed', `${req.method} is not allowed here`, { headers: { allow: match.allow } })
    }
    let body: unknown
    if (match.spec.body === 'raw') body = hasBody(req) ? await readBody(req, maxBodyBytes) : Buffer.alloc(0)
    else if (match.spec.body) body = await readJsonBody(req, maxBodyBytes)
    else if (hasBody(req) && (await readBody(req, maxBodyBytes)).length > 0) {
      // Refused rather than ignored: a DELETE with {"ifVersion": …} in its body must not delete unconditionally.
      throw new HttpError(400, 'bad_request', `${req.method} on this path takes no request body (parameters go in the query)`)
    }
    return match.spec.handler(new LazyRequestContext(req, res, match.params, target.search, body))
  }

  #internal(error: unknown): HttpError {
    this.#options.logger.error('request failed', { error })
    return new HttpError(500, 'internal', 'internal server error')
  }
}

/** Malformed HTTP never reaches a handler; answer it in the protocol's error shape anyway. */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy()
    return
  }
  const [status, reason] =
    error.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large'] : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout'] : [400, 'Bad Request']
  const body = JSON.stringify({ error: { code: 'bad_request', message: `malformed HTTP request (${error.code ?? 'parse error'})` } })
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  )
}
